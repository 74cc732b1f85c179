"""Camera geometry for annotations and re-projection: pure numpy, no carla calls.

World and sensor poses are CARLA's (UE axes: x forward, y right, z up; left-handed;
degrees). Camera coordinates in annotations and frames.jsonl are OpenCV's (x right,
y down, z forward), so a point projects as `u, v = (K @ p)[:2] / p[2]`:
    p_cv = (y_ue, -z_ue, x_ue) of the point in the sensor's UE frame.
K is the pinhole of carla-sensors.md §7: f = W / (2 tan(fov/2)), principal point (W/2, H/2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
PoseTuple = tuple[float, float, float, float, float, float]
"""x, y, z [m], pitch, yaw, roll [deg]."""
NEAR_M = 0.05
UE_TO_CV = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
_SIGNS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def pose_matrix(pose: Sequence[float]) -> F64:
    """4x4 local -> world matrix of a CARLA pose, as `carla.Transform.get_matrix()`."""
    x, y, z, pitch, yaw, roll = pose
    p, yw, r = (math.radians(a) for a in (pitch, yaw, roll))
    cp, sp = math.cos(p), math.sin(p)
    cy, sy = math.cos(yw), math.sin(yw)
    cr, sr = math.cos(r), math.sin(r)
    return np.array(
        [
            [cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr, x],
            [cp * sy, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr, y],
            [sp, -cp * sr, cp * cr, z],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )


def intrinsics(width: int, height: int, fov_deg: float) -> F64:
    """The pinhole matrix K of a CARLA camera."""
    f = width / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def world_to_camera(sensor_matrix: F64) -> F64:
    """4x4 world -> OpenCV camera coordinates of a sensor with this world matrix."""
    out = np.eye(4)
    inverse = np.linalg.inv(sensor_matrix)
    out[:3, :] = UE_TO_CV @ inverse[:3, :]
    return out


def box_corners_world(actor_matrix: F64, location: Sequence[float], extent: Sequence[float]) -> F64:
    """(8, 3) world corners of an actor's bounding box (location in the actor's frame)."""
    local = np.asarray(location, dtype=float) + _SIGNS * np.asarray(extent, dtype=float)
    return np.asarray(local @ actor_matrix[:3, :3].T + actor_matrix[:3, 3])


def to_camera(world_to_cam: F64, points: F64) -> F64:
    return np.asarray(points @ world_to_cam[:3, :3].T + world_to_cam[:3, 3])


def box_in_camera(
    world_to_cam: F64, actor_matrix: F64, location: Sequence[float], extent: Sequence[float]
) -> dict[str, list[float] | list[list[float]]]:
    """The box in camera coordinates: centre, half sizes, rotation box -> camera, corners."""
    corners = to_camera(world_to_cam, box_corners_world(actor_matrix, location, extent))
    center_world = actor_matrix[:3, :3] @ np.asarray(location, dtype=float) + actor_matrix[:3, 3]
    center = to_camera(world_to_cam, center_world[None])[0]
    rotation = world_to_cam[:3, :3] @ actor_matrix[:3, :3]
    return {
        "center": _rounded(center),
        "extent": _rounded(np.asarray(extent, dtype=float)),
        "rotation": [_rounded(row) for row in rotation],
        "corners": [_rounded(c) for c in corners],
    }


def _rounded(values: F64) -> list[float]:
    return [round(float(v), 4) for v in values]


def silhouette_areas(corners_cam: F64, k: F64, width: int, height: int) -> tuple[float, float]:
    """(area inside the image, whole area) [px²] of a projected box, cut at the near plane."""
    points = _near_clipped(corners_cam)
    if len(points) < 3:
        return 0.0, 0.0
    uv = (points @ k.T)[:, :2] / points[:, 2:3]
    hull = convex_hull(uv)
    whole = polygon_area(hull)
    inside = polygon_area(clip_to_rect(hull, 0.0, 0.0, float(width), float(height)))
    return inside, whole


def _near_clipped(corners: F64) -> F64:
    """Box corners in front of the near plane plus where its edges cross it."""
    front = corners[:, 2] > NEAR_M
    points = [corners[i] for i in range(8) if front[i]]
    for a, b in _EDGES:
        if front[a] != front[b]:
            t = (NEAR_M - corners[a, 2]) / (corners[b, 2] - corners[a, 2])
            points.append(corners[a] + t * (corners[b] - corners[a]))
    return np.array(points).reshape(-1, 3)


def convex_hull(points: F64) -> F64:
    """Counter-clockwise hull (monotone chain) of (N, 2) points."""
    pts = sorted({(float(x), float(y)) for x, y in points})
    if len(pts) < 3:
        return np.array(pts).reshape(-1, 2)

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2 and _cross(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def polygon_area(poly: F64) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def clip_to_rect(poly: F64, x0: float, y0: float, x1: float, y1: float) -> F64:
    """Sutherland-Hodgman clip of a convex polygon to an axis-aligned rectangle."""
    out = [tuple(p) for p in poly]
    for axis, bound, keep_above in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if not out:
            break
        out = _clip_edge(out, axis, bound, keep_above)
    return np.array(out).reshape(-1, 2)


def _clip_edge(
    poly: list[tuple[float, ...]], axis: int, bound: float, keep_above: bool
) -> list[tuple[float, ...]]:
    def inside(p: tuple[float, ...]) -> bool:
        return p[axis] >= bound if keep_above else p[axis] <= bound

    out: list[tuple[float, ...]] = []
    for i, cur in enumerate(poly):
        prev = poly[i - 1]
        if inside(cur) != inside(prev):
            t = (bound - prev[axis]) / (cur[axis] - prev[axis])
            out.append(tuple(prev[j] + t * (cur[j] - prev[j]) for j in range(2)))
        if inside(cur):
            out.append(cur)
    return out
