"""preview.png: a contact sheet of a run — a few frames per camera, objects drawn.

Rows are the image targets (one per camera and converter), columns up to
`PREVIEW_FRAMES` frames spread over the run. On the COCO camera and on every camera
at its pose (its twins), instance masks are tinted, boxes drawn and labelled with
the class name. A title line gives the annotation count per class. Depth is shown
as gray (CARLA's converters) or through a colour map (metres).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np
from numpy.typing import NDArray

from runner.export.annotations import decode
from runner.export.checks import SensorInfo, twin_mismatch
from runner.export.images import encode_png
from runner.export.targets import ImageTarget
from runner.export.writer import write_atomic

PREVIEW_FILE = "preview.png"
PREVIEW_FRAMES = 4
THUMB_W = 400
LABEL_W = 150
TITLE_H = 44
FONT = cv2.FONT_HERSHEY_SIMPLEX
U8 = NDArray[np.uint8]


class PreviewRow(NamedTuple):
    label: str  # "rgb", "depth:logdepth"
    folder: Path
    target: ImageTarget


def _colour(key: int) -> tuple[int, int, int]:
    """A bright, stable BGR colour per instance."""
    hue = (key * 47) % 180
    hsv = np.array([[[hue, 200, 255]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def _display(path: Path, target: ImageTarget) -> U8 | None:
    """A written file as a BGR picture for people."""
    if not path.is_file():
        return None
    if path.suffix == ".npy":
        data = np.load(path).astype(np.float32)
        return _depth_colours(data)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        return None
    if image.dtype == np.uint16:
        metres = image.astype(np.float32) / 1000.0
        metres[image == 0] = 1000.0
        return _depth_colours(metres)
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    return np.asarray(image[..., :3])


def _depth_colours(metres: NDArray[np.float32]) -> U8:
    """Near = warm, far = dark: log scale from 1 m to 200 m."""
    scaled = np.clip(np.log(np.maximum(metres, 1.0)) / math.log(200.0), 0.0, 1.0)
    gray = (255 * (1.0 - scaled)).astype(np.uint8)
    return np.asarray(cv2.applyColorMap(gray, cv2.COLORMAP_INFERNO))


def _thumb(image: U8) -> tuple[U8, float]:
    scale = THUMB_W / image.shape[1]
    size = (THUMB_W, max(1, round(image.shape[0] * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA)), scale


def _draw_objects(
    thumb: U8, scale: float, annotations: Sequence[dict[str, Any]], names: Sequence[str]
) -> U8:
    out = thumb.astype(np.float32)
    size = (thumb.shape[1], thumb.shape[0])
    for ann in annotations:
        if ann.get("iscrowd"):
            continue
        mask = cv2.resize(decode(ann["segmentation"]), size, interpolation=cv2.INTER_NEAREST)
        tint = np.array(_colour(_key(ann)), dtype=np.float32)
        out[mask > 0] = out[mask > 0] * 0.45 + tint * 0.55
    drawn: U8 = out.astype(np.uint8)
    for ann in annotations:
        if ann.get("iscrowd"):
            continue
        x, y, w, h = (v * scale for v in ann["bbox"])
        p0, p1 = (round(x), round(y)), (round(x + w), round(y + h))
        colour = _colour(_key(ann))
        cv2.rectangle(drawn, p0, p1, colour, 1, cv2.LINE_AA)
        if w * h >= 40:
            _tag(drawn, names[ann["category_id"] - 1], p0, colour)
    return drawn


def _key(ann: dict[str, Any]) -> int:
    return int(ann.get("carla_instance_id") or 0) * 31 + int(ann["category_id"]) * 7 + 1


def _tag(image: U8, text: str, corner: tuple[int, int], colour: tuple[int, int, int]) -> None:
    (tw, th), base = cv2.getTextSize(text, FONT, 0.38, 1)
    x, y = corner[0], max(th + base + 1, corner[1])
    cv2.rectangle(image, (x, y - th - base - 2), (x + tw + 4, y), colour, -1)
    cv2.putText(image, text, (x + 2, y - base), FONT, 0.38, (15, 15, 15), 1, cv2.LINE_AA)


def _pick_frames(rows: Sequence[PreviewRow], records: Sequence[dict[str, Any]]) -> list[int]:
    frames = sorted(int(r["image"]["frame"]) for r in records)
    if not frames:
        for row in rows:
            found = sorted(int(p.stem) for p in row.folder.glob("[0-9]*") if p.stem.isdigit())
            if found:
                frames = found
                break
    if len(frames) <= PREVIEW_FRAMES:
        return frames
    picks = np.linspace(0, len(frames) - 1, PREVIEW_FRAMES).round().astype(int)
    return [frames[i] for i in picks]


def _row_sensor(label: str) -> str:
    return label.split(":", 1)[0]


def write_preview(
    path: Path,
    rows: Sequence[PreviewRow],
    records: Sequence[dict[str, Any]],
    names: Sequence[str],
    coco_camera: str | None,
    sensors: Mapping[str, SensorInfo],
) -> Path | None:
    """Write the contact sheet; None when no image was written."""
    frames = _pick_frames(rows, records)
    if not rows or not frames:
        return None
    by_frame = {int(r["image"]["frame"]): r["annotations"] for r in records}
    overlay = _overlay_sensors(coco_camera, sensors)
    strips = []
    for row in rows:
        cells: list[U8 | None] = []
        for frame in frames:
            picture = _display(row.folder / f"{frame:08d}{row.target.suffix}", row.target)
            if picture is None:
                cells.append(None)
                continue
            thumb, scale = _thumb(picture)
            if _row_sensor(row.label) in overlay:
                thumb = _draw_objects(thumb, scale, by_frame.get(frame, []), names)
            cells.append(thumb)
        strips.append(_strip(row.label, cells))
    sheet = np.vstack([_title(records, names, frames, strips[0].shape[1]), *strips])
    write_atomic(path, encode_png(sheet))
    return path


def _overlay_sensors(coco_camera: str | None, sensors: Mapping[str, SensorInfo]) -> set[str]:
    if coco_camera is None or coco_camera not in sensors:
        return {coco_camera} if coco_camera else set()
    camera = sensors[coco_camera]
    return {n for n, info in sensors.items() if not twin_mismatch(camera, info)} | {coco_camera}


def _strip(label: str, cells: Sequence[U8 | None]) -> U8:
    height = max((c.shape[0] for c in cells if c is not None), default=THUMB_W * 3 // 4)
    out = np.full((height + 4, LABEL_W + len(cells) * (THUMB_W + 4), 3), 32, dtype=np.uint8)
    cv2.putText(out, label, (8, height // 2), FONT, 0.5, (235, 235, 235), 1, cv2.LINE_AA)
    for i, cell in enumerate(cells):
        x = LABEL_W + i * (THUMB_W + 4)
        if cell is None:
            cv2.putText(out, "missing", (x + 8, height // 2), FONT, 0.5, (90, 90, 200), 1)
        else:
            out[2 : 2 + cell.shape[0], x : x + cell.shape[1]] = cell
    return out


def _title(
    records: Sequence[dict[str, Any]], names: Sequence[str], frames: list[int], width: int
) -> U8:
    counts: Counter[str] = Counter()
    for record in records:
        for ann in record["annotations"]:
            if not ann.get("iscrowd"):
                counts[names[ann["category_id"] - 1]] += 1
    out = np.full((TITLE_H, width, 3), 20, dtype=np.uint8)
    text = f"{len(records)} annotated frames" if records else "no annotations"
    if counts:
        text += ": " + ", ".join(f"{n} {c}" for n, c in counts.most_common())
    cv2.putText(out, text, (8, 18), FONT, 0.5, (240, 240, 240), 1, cv2.LINE_AA)
    for i, frame in enumerate(frames):
        x = LABEL_W + i * (THUMB_W + 4)
        cv2.putText(out, f"frame {frame}", (x + 4, 38), FONT, 0.45, (180, 180, 180), 1, cv2.LINE_AA)
    return out
