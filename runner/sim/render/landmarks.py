"""Traffic lights and signs placed from the OpenDRIVE landmarks of a `carla.Map`.

Convention shared with the traffic-light actors: a light's origin is the foot of its
pole and its lamps face the landmark's yaw + 90 degrees (local +y).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runner.sim.render import shapes
from runner.sim.render.meshes import F64, MeshBuilder, pose_matrices
from runner.sim.render.roads import KERB_M

TRAFFIC_LIGHT_TYPE = "1000001"


def _poses(carla_map: Any, landmarks: list[Any]) -> F64:
    """(N, 4) rows of x, y, ground z, yaw [rad] for unique landmark positions."""
    seen: set[tuple[int, int]] = set()
    rows = []
    for lm in landmarks:
        loc = lm.transform.location
        key = (round(loc.x * 2), round(loc.y * 2))
        if key in seen:
            continue
        seen.add(key)
        wp = carla_map.get_waypoint(loc)
        z = (wp.transform.location.z if wp is not None else loc.z) + KERB_M
        rows.append((loc.x, loc.y, z, np.radians(lm.transform.rotation.yaw)))
    return np.array(rows).reshape(-1, 4)


def traffic_light_poses(carla_map: Any) -> F64:
    lights = [lm for lm in carla_map.get_all_landmarks() if lm.type == TRAFFIC_LIGHT_TYPE]
    return _poses(carla_map, lights)


def build_traffic_lights(carla_map: Any) -> MeshBuilder:
    mesh = MeshBuilder()
    rows = traffic_light_poses(carla_map)
    if len(rows):
        mats = pose_matrices(rows[:, :3], rows[:, 3], np.ones((len(rows), 3)))
        mesh.place(shapes.traffic_light(), mats, numbered=True)
    return mesh


def build_signs(carla_map: Any) -> MeshBuilder:
    signs = [lm for lm in carla_map.get_all_landmarks() if lm.type != TRAFFIC_LIGHT_TYPE]
    rows = _poses(carla_map, signs)
    mesh = MeshBuilder()
    if len(rows):
        mats = pose_matrices(rows[:, :3], rows[:, 3], np.ones((len(rows), 3)))
        mesh.place(shapes.traffic_sign(), mats, numbered=True)
    return mesh
