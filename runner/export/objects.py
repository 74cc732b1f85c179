"""COCO annotation entries: an instance's mask and box, plus what CARLA knows of it.

Instance ids equal to an actor's id (16 bits) get the actor's type id, its 3-D box in
camera coordinates (OpenCV axes, see geometry.py), its distance and two ratios:

  truncated  1 - (projected 3-D box area inside the image) / (whole projected area):
             the share of the object outside the frame (KITTI's meaning, as a float).
  occlusion  1 - visible pixels / projected 3-D box area inside the image.
             The exact definition (1 - visible / pixels of the object rendered alone)
             needs a second render without occluders, which a normal camera does not
             give; the box silhouette is larger than the object, so an unoccluded car
             reads about 0.1-0.3 and a mostly hidden one close to 1. Clamped to [0, 1].

Ids without an actor (static scene objects: buildings, poles, map signs) keep their
`carla_instance_id`; their 3-D fields are null.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runner.export.annotations import Instance
from runner.export.context import FrameContext
from runner.export.geometry import (
    box_corners_world,
    box_in_camera,
    silhouette_areas,
    to_camera,
    world_to_camera,
)


def annotation_entries(
    instances: list[Instance], context: FrameContext, camera: str, image_id: int
) -> list[dict[str, Any]]:
    """COCO annotations (without `id`) for one frame of `camera`."""
    sensor = context.sensors.get(camera)
    actors = context.actors_by_instance_id()
    w2c = None if sensor is None else world_to_camera(sensor.matrix)
    k = None if sensor is None else sensor.k
    out = []
    for inst in instances:
        entry: dict[str, Any] = {
            "image_id": image_id,
            "category_id": inst.category + 1,
            "segmentation": inst.rle,
            "area": inst.area,
            "bbox": list(inst.bbox),
            "iscrowd": int(inst.iscrowd),
            "carla_source": inst.source,
            "carla_instance_id": inst.instance_id,
            "carla_actor_id": None,
            "carla_type_id": None,
            "occlusion": None,
            "truncated": None,
            "box3d_camera": None,
            "distance_m": None,
        }
        actor = actors.get(inst.instance_id) if inst.instance_id else None
        if actor is not None and w2c is not None and k is not None and sensor is not None:
            entry.update(_actor_fields(inst, actor, w2c, k, sensor.width or 0, sensor.height or 0))
        out.append(entry)
    return out


def _actor_fields(
    inst: Instance, actor: Any, w2c: np.ndarray, k: np.ndarray, width: int, height: int
) -> dict[str, Any]:
    matrix = actor.matrix
    box = box_in_camera(w2c, matrix, actor.box_location, actor.box_extent)
    corners = to_camera(w2c, box_corners_world(matrix, actor.box_location, actor.box_extent))
    inside, whole = silhouette_areas(corners, k, width, height)
    truncated = 0.0 if whole <= 0 else 1.0 - inside / whole
    occlusion = 0.0 if inside <= 0 else 1.0 - inst.area / inside
    return {
        "carla_actor_id": actor.id,
        "carla_type_id": actor.type_id,
        "occlusion": round(float(np.clip(occlusion, 0.0, 1.0)), 4),
        "truncated": round(float(np.clip(truncated, 0.0, 1.0)), 4),
        "box3d_camera": box,
        "distance_m": round(float(np.linalg.norm(box["center"])), 3),
    }
