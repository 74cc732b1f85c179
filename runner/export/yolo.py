"""The COCO annotations as an Ultralytics YOLO dataset inside the run folder.

    yolo/data.yaml            names by class index; train/val point at images/
    yolo/images/<frame>.png   hard links to the camera's image files (no copies)
    yolo/labels/<frame>.txt   one line per object: class cx cy w h (normalised 0..1)

`data.yaml` has no `path:` key, so Ultralytics takes the folder of the yaml file.
Crowd regions are not written (YOLO has no notion of them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.export.writer import write_atomic

YOLO_DIR = "yolo"


def open_yolo(run_dir: Path, names: Sequence[str]) -> Path:
    """Create the folders and data.yaml; returns the yolo folder."""
    root = run_dir / YOLO_DIR
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    lines = ["# Ultralytics YOLO dataset written by carla-scenario-runner", "train: images"]
    lines += ["val: images", f"nc: {len(names)}", "names:"]
    lines += [f"  {i}: {_yaml_string(name)}" for i, name in enumerate(names)]
    write_atomic(root / "data.yaml", "\n".join(lines) + "\n")
    return root


def _yaml_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def label_lines(annotations: Sequence[dict[str, Any]], width: int, height: int) -> str:
    """YOLO label text: `class cx cy w h`, class = COCO category id - 1."""
    rows = []
    for ann in annotations:
        if ann.get("iscrowd"):
            continue
        x, y, w, h = ann["bbox"]
        cx, cy = (x + w / 2) / width, (y + h / 2) / height
        rows.append(f"{ann['category_id'] - 1} {cx:.6f} {cy:.6f} {w / width:.6f} {h / height:.6f}")
    return "".join(row + "\n" for row in rows)


def write_yolo_frame(
    root: Path, image_path: Path, annotations: Sequence[dict[str, Any]], width: int, height: int
) -> None:
    """Link the finished image and write its label file (label after image: both complete)."""
    linked = root / "images" / image_path.name
    if not linked.exists():
        tmp = linked.with_name(f".{linked.name}.part")
        try:
            os.link(image_path, tmp)
        except OSError:
            shutil.copyfile(image_path, tmp)
        os.replace(tmp, linked)
    label = root / "labels" / (image_path.stem + ".txt")
    write_atomic(label, label_lines(annotations, width, height))
