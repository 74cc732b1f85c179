"""Frustum culling of scene tiles: which vertex ranges a camera can see."""

from __future__ import annotations

import numpy as np

from runner.sim.render import camera
from runner.sim.render.scene import TiledMesh
from runner.sim.world.geometry import Transform

_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)


def visible_ranges(
    mesh: TiledMesh, pose: Transform, pinhole: camera.Pinhole, max_distance_m: float = camera.FAR_M
) -> list[tuple[int, int]]:
    """(first vertex, count) runs of tiles meeting the view frustum, nearest first."""
    if len(mesh.first) == 0:
        return []
    corners = mesh.lo[:, None, :] + (mesh.hi - mesh.lo)[:, None, :] * _CORNERS[None]
    cam = camera.to_camera(pose, corners.reshape(-1, 3)).reshape(-1, 8, 3)
    x, y, z = cam[..., 0], cam[..., 1], cam[..., 2]
    tan_x = pinhole.width / (2 * pinhole.focal_px)
    tan_y = pinhole.height / (2 * pinhole.focal_px)
    outside = (
        (x < camera.NEAR_M).all(1)
        | (x > camera.FAR_M).all(1)
        | (y > x * tan_x).all(1)
        | (-y > x * tan_x).all(1)
        | (z > x * tan_y).all(1)
        | (-z > x * tan_y).all(1)
        | (_box_distance(mesh, pose) > max_distance_m)
    )
    visible = np.flatnonzero(~outside)
    nearest = np.linalg.norm(cam[visible].mean(axis=1), axis=1)
    runs: list[tuple[int, int]] = []
    for i in visible[np.argsort(nearest, kind="stable")]:  # front to back: early-z
        first, count = int(mesh.first[i]), int(mesh.count[i])
        if runs and runs[-1][0] + runs[-1][1] == first:
            runs[-1] = (runs[-1][0], runs[-1][1] + count)
        else:
            runs.append((first, count))
    return runs


def _box_distance(mesh: TiledMesh, pose: Transform) -> np.ndarray:
    """Distance from the camera to the nearest point of each tile's box."""
    eye = np.array(pose.location)
    nearest = np.clip(eye, mesh.lo, mesh.hi)
    return np.asarray(np.linalg.norm(nearest - eye, axis=1))
