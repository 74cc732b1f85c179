"""Load a run folder back as frames: images, annotations and matrices together.

    from runner.dataset import load_run

    run = load_run("outputs/rainy_town03/20250101-120000-ab12cd")
    for frame in run.frames:
        rgb = frame.image("rgb")                 # (H, W, 3) RGB uint8 (None if not written)
        k = frame.sensors["rgb"].k              # 3x3 pinhole matrix
        w2c = frame.world_to_camera("rgb")      # 4x4 world -> OpenCV camera axes
        for ann in frame.annotations:           # COCO dicts of this frame's camera
            mask = frame.mask(ann)              # (H, W) uint8 0/1
            print(run.category(ann), ann["bbox"], ann["carla_actor_id"], ann["distance_m"])
        for actor in frame.actors:              # every actor's pose and 3-D box
            corners = frame.box_corners(actor)  # (8, 3) world [m]

What it reads (see runner.export.sinks): `frames.jsonl` (always), `coco.json` (rebuilt
from `coco.journal.jsonl` when a killed run left the journal ahead) and the image
files named per frame. Camera axes are OpenCV's (x right, y down, z forward); world
and sensor poses are CARLA's (runner.export.geometry).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from runner.export.annotations import decode
from runner.export.coco import COCO_FILE, load_coco
from runner.export.geometry import box_corners_world, pose_matrix, world_to_camera
from runner.export.images import read_image
from runner.export.sinks import FRAMES_FILE


@dataclass(frozen=True)
class SensorPose:
    """A sensor at one frame: its world matrix and (cameras) K and image size."""

    matrix: NDArray[np.float64]
    k: NDArray[np.float64] | None
    size: tuple[int, int] | None


@dataclass(frozen=True)
class Frame:
    """One captured frame of a run."""

    run_dir: Path
    frame: int
    sim_time_s: float
    sensors: dict[str, SensorPose]
    files: dict[str, str]
    actors: list[dict[str, Any]]
    ego: dict[str, Any] | None
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def image(self, sensor: str) -> NDArray[Any] | None:
        """The first image target written for `sensor` this frame, or None."""
        keys = [
            k for k in self.files if k == f"images:{sensor}" or k.startswith(f"images:{sensor}:")
        ]
        return self.image_of(keys[0]) if keys else None

    def image_of(self, target: str) -> NDArray[Any] | None:
        """The file of one target ("images:depth:depth_m"), None if it was not written."""
        path = self.run_dir / self.files[target]
        return read_image(str(path)) if path.is_file() else None

    def mask(self, annotation: dict[str, Any]) -> NDArray[np.uint8]:
        return decode(annotation["segmentation"])

    def world_to_camera(self, sensor: str) -> NDArray[np.float64]:
        return world_to_camera(self.sensors[sensor].matrix)

    def box_corners(self, actor: dict[str, Any]) -> NDArray[np.float64]:
        """(8, 3) world corners of an actor's 3-D box."""
        t = actor["transform"]
        pose = (t["x"], t["y"], t["z"], t["pitch"], t["yaw"], t["roll"])
        box = actor["box"]
        return box_corners_world(pose_matrix(pose), box["location"], box["extent"])


@dataclass(frozen=True)
class Run:
    """A run folder: its frames in order, and the COCO categories."""

    run_dir: Path
    frames: list[Frame]
    categories: dict[int, str]

    def category(self, annotation: dict[str, Any]) -> str:
        return self.categories[int(annotation["category_id"])]

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)


def _frame_records(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:  # the last line of a killed run
            continue


def _sensor(record: dict[str, Any]) -> SensorPose:
    k = record.get("K")
    size = record.get("size")
    return SensorPose(
        np.asarray(record["matrix"], dtype=float),
        None if k is None else np.asarray(k, dtype=float),
        None if size is None else (int(size[0]), int(size[1])),
    )


def load_run(run_dir: str | Path) -> Run:
    """Every frame of frames.jsonl with its sensors, files, actors and COCO annotations."""
    root = Path(run_dir)
    by_image: dict[int, list[dict[str, Any]]] = {}
    categories: dict[int, str] = {}
    if (root / COCO_FILE).is_file():
        coco = load_coco(root)
        categories = {int(c["id"]): str(c["name"]) for c in coco["categories"]}
        for ann in coco["annotations"]:
            by_image.setdefault(int(ann["image_id"]), []).append(ann)
    frames = [
        Frame(
            run_dir=root,
            frame=int(r["frame"]),
            sim_time_s=float(r["sim_time_s"]),
            sensors={name: _sensor(s) for name, s in r["sensors"].items()},
            files=dict(r.get("files", {})),
            actors=list(r.get("actors", [])),
            ego=r.get("ego"),
            annotations=by_image.get(int(r["frame"]), []),
        )
        for r in _frame_records(root / FRAMES_FILE)
    ]
    return Run(root, frames, categories)
