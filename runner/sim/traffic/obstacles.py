"""What stands on each vehicle's path: the nearest vehicle or walker ahead, and its speed.

Each obstacle is a few points along its length; every lane sample within (its half width
plus a vehicle's) of one of those points is "covered" by it. A vehicle meets an obstacle
where its own path runs through a covered sample; the exact distance along the path and
the lateral clearance are then measured from the path point. This finds leaders in the
same lane, vehicles cutting in, crossing traffic inside junctions and walkers on the
road alike, with a fixed amount of numpy work per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runner.sim.traffic.fleet import BoolArray, FloatArray, IntArray
from runner.sim.traffic.graph import GRID_CELL_M, LaneGraph
from runner.sim.traffic.paths import PathGeometry

POINTS_PER_OBSTACLE = 5
EGO_HALF_WIDTH_M = 1.1  # lane samples within this plus the obstacle's half width are covered
CLEARANCE_M = 0.3  # lateral room wanted beyond both half widths


@dataclass(frozen=True, slots=True)
class Obstacles:
    """Every actor a vehicle may have to stop for (M rows)."""

    ids: IntArray
    xy: FloatArray  # (M, 2)
    yaw_rad: FloatArray
    front_m: FloatArray  # origin to front and to rear along its heading
    rear_m: FloatArray
    half_width_m: FloatArray
    velocity: FloatArray  # (M, 2)
    walker: BoolArray


@dataclass(frozen=True, slots=True)
class Ahead:
    """Per fleet row: distance along the path to the nearest obstacle point and its speed."""

    along_m: FloatArray  # inf where nothing is ahead
    speed: FloatArray  # obstacle speed along the path there
    obstacle: IntArray  # obstacle row, -1


def find_ahead(
    graph: LaneGraph,
    geom: PathGeometry,
    path: IntArray,
    half_width_m: FloatArray,
    own: IntArray,
    obstacles: Obstacles,
    ignore: BoolArray,
) -> Ahead:
    """Nearest obstacle on each row's path; `ignore[i, j]`-style pairs come as a mask (N, M)."""
    n = len(path)
    along = np.full(n, np.inf)
    speed = np.zeros(n)
    which = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(obstacles.ids) == 0:
        return Ahead(along, speed, which)
    pts, owner, reach = _points(obstacles)
    hits = graph.grid.within(pts, reach)
    pair_hit, entry = _path_entries(path, geom.valid, hits.sample)
    if len(entry) == 0:
        return Ahead(along, speed, which)
    k_count = path.shape[1]
    row, k = entry // k_count, entry % k_count
    j = owner[hits.row[pair_hit]]
    q = pts[hits.row[pair_hit]]
    p, t = geom.points[row, k], geom.tangent[row, k]
    rel = q - p
    lon = rel[:, 0] * t[:, 0] + rel[:, 1] * t[:, 1]
    lat = np.abs(rel[:, 1] * t[:, 0] - rel[:, 0] * t[:, 1])
    dist = geom.along[row, k] + lon
    keep = (
        (j != own[row])
        & (lat < obstacles.half_width_m[j] + half_width_m[row] + CLEARANCE_M)
        & (dist > 0.0)
        & ~ignore[row, j]
    )
    row, j, dist, t = row[keep], j[keep], dist[keep], t[keep]
    if len(row) == 0:
        return Ahead(along, speed, which)
    order = np.lexsort((dist, row))
    first = order[np.unique(row[order], return_index=True)[1]]
    r, jj = row[first], j[first]
    along[r] = dist[first]
    which[r] = jj
    vel = obstacles.velocity[jj]
    speed[r] = vel[:, 0] * t[first, 0] + vel[:, 1] * t[first, 1]
    return Ahead(along, speed, which)


def _points(obstacles: Obstacles) -> tuple[FloatArray, IntArray, FloatArray]:
    """POINTS_PER_OBSTACLE points from rear to front of each obstacle, with cover radii."""
    m = len(obstacles.ids)
    u = np.linspace(0.0, 1.0, POINTS_PER_OBSTACLE)[None, :]
    offset = -obstacles.rear_m[:, None] + u * (obstacles.front_m + obstacles.rear_m)[:, None]
    heading = np.stack([np.cos(obstacles.yaw_rad), np.sin(obstacles.yaw_rad)], axis=1)
    pts = obstacles.xy[:, None, :] + offset[..., None] * heading[:, None, :]
    owner = np.repeat(np.arange(m), POINTS_PER_OBSTACLE)
    reach = np.minimum(
        np.repeat(obstacles.half_width_m, POINTS_PER_OBSTACLE) + EGO_HALF_WIDTH_M + CLEARANCE_M,
        GRID_CELL_M,
    )
    return pts.reshape(-1, 2), owner, reach


def _path_entries(path: IntArray, valid: BoolArray, samples: IntArray) -> tuple[IntArray, IntArray]:
    """(hit index, flat path entry) for every path entry whose sample is in `samples`."""
    flat = np.flatnonzero(valid.ravel())
    keys = path.ravel()[flat]
    order = np.argsort(keys, kind="stable")
    keys, flat = keys[order], flat[order]
    lo = np.searchsorted(keys, samples, side="left")
    hi = np.searchsorted(keys, samples, side="right")
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    hit = np.repeat(np.arange(len(samples)), counts)
    start = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    entry = flat[start + np.arange(total)]
    return hit, entry
