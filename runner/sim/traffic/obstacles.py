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

from runner.sim.profiling import TIMER
from runner.sim.traffic.fleet import BoolArray, FloatArray, IntArray
from runner.sim.traffic.graph import GRID_CELL_M, LaneGraph
from runner.sim.traffic.grid import Hits
from runner.sim.traffic.paths import PathGeometry

POINTS_PER_OBSTACLE = 5
EGO_HALF_WIDTH_M = 1.1  # lane samples within this plus the obstacle's half width are covered
CLEARANCE_M = 0.3  # lateral room wanted beyond both half widths
NEAR_M = 20.0  # first pass of the look-ahead: path entries nearer than this


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
    with TIMER.stage("tm.find_ahead"):
        return _find_ahead(graph, geom, path, half_width_m, own, obstacles, ignore)


def _find_ahead(
    graph: LaneGraph,
    geom: PathGeometry,
    path: IntArray,
    half_width_m: FloatArray,
    own: IntArray,
    obstacles: Obstacles,
    ignore: BoolArray,
) -> Ahead:
    """`find_ahead` itself, in two passes along the paths.

    The first pass looks only at path entries nearer than NEAR_M. An obstacle point is at
    most its cover radius (<= GRID_CELL_M) before or after the entry it covers, so a row
    whose nearest obstacle lies closer than NEAR_M - GRID_CELL_M cannot find a nearer one
    farther down its path: only the other rows take the second pass. In dense traffic
    most rows stop at the first pass, and the pairs (entry, covering point) that cost the
    time grow with the square of the density only within NEAR_M.
    Work is in flat 1-D arrays (gathers of 2-D rows are several times slower), pairs are
    dropped as early as their cheapest test allows, and covered samples are looked up in a
    dense per-sample table instead of by sorting every path entry.
    """
    n = len(path)
    along = np.full(n, np.inf)
    speed = np.zeros(n)
    which = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(obstacles.ids) == 0:
        return Ahead(along, speed, which)
    pts, owner, reach = _points(obstacles)
    hits = graph.grid.within(pts, reach)
    if len(hits.row) == 0:
        return Ahead(along, speed, which)
    table = _cover_table(hits.sample, graph.size)
    scan = (geom, path, half_width_m, own, obstacles, ignore, pts, owner, hits, table)
    near = geom.valid & (geom.along < NEAR_M)
    _nearest_into(along, speed, which, obstacles, *_candidates(near, *scan))
    unsure = ~(along < NEAR_M - GRID_CELL_M)
    far = geom.valid & ~near & unsure[:, None]
    if far.any():
        _nearest_into(along, speed, which, obstacles, *_candidates(far, *scan))
    return Ahead(along, speed, which)


def _nearest_into(
    along: FloatArray,
    speed: FloatArray,
    which: IntArray,
    obstacles: Obstacles,
    row: IntArray,
    j: IntArray,
    dist: FloatArray,
    tx: FloatArray,
    ty: FloatArray,
) -> None:
    """Per row, the nearest pair (rows come sorted); kept where nearer than what is there.

    Ties go to the first pair of the row, which is the first along its path.
    """
    if len(row) == 0:
        return
    starts = np.concatenate([[0], np.flatnonzero(row[1:] != row[:-1]) + 1])
    counts = np.diff(np.append(starts, len(row)))
    best = np.minimum.reduceat(dist, starts)
    at = np.flatnonzero(dist == np.repeat(best, counts))
    first = at[np.searchsorted(at, starts)]
    r = row[first]
    nearer = best < along[r]
    r, first = r[nearer], first[nearer]
    jj = j[first]
    along[r] = dist[first]
    which[r] = jj
    speed[r] = obstacles.velocity[jj, 0] * tx[first] + obstacles.velocity[jj, 1] * ty[first]


def _cover_table(samples: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """Hits ordered by sample and the start of each sample's run (a CSR table)."""
    order = np.argsort(samples, kind="stable")
    start = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(samples, minlength=size), out=start[1:])
    return order, start


def _candidates(
    valid: BoolArray,
    geom: PathGeometry,
    path: IntArray,
    half_width_m: FloatArray,
    own: IntArray,
    obstacles: Obstacles,
    ignore: BoolArray,
    pts: FloatArray,
    owner: IntArray,
    hits: Hits,
    table: tuple[IntArray, IntArray],
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """(row, obstacle, distance along the path, path tangent x, y) of every pair that blocks.

    Pairs come in path-entry order: rows ascending, and along each row's path.
    """
    entry, hit = _path_entries(path, valid, table)
    row = entry // path.shape[1]
    j = owner[hits.row[hit]]
    keep = (j != own[row]) & ~ignore[row, j]
    entry, hit, row, j = entry[keep], hit[keep], row[keep], j[keep]
    point = hits.row[hit]
    points, tangent = geom.points.reshape(-1), geom.tangent.reshape(-1)  # views: (x, y) pairs
    px, py = points[2 * entry], points[2 * entry + 1]
    tx, ty = tangent[2 * entry], tangent[2 * entry + 1]
    rx, ry = pts[:, 0][point] - px, pts[:, 1][point] - py
    lon = rx * tx + ry * ty
    lat = np.abs(ry * tx - rx * ty)
    dist = geom.along.ravel()[entry] + lon
    keep = (lat < obstacles.half_width_m[j] + half_width_m[row] + CLEARANCE_M) & (dist > 0.0)
    return row[keep], j[keep], dist[keep], tx[keep], ty[keep]


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


def _path_entries(
    path: IntArray, valid: BoolArray, table: tuple[IntArray, IntArray]
) -> tuple[IntArray, IntArray]:
    """(flat path entry, hit index) for every valid path entry on a covered sample."""
    order, start = table
    flat_path = path.ravel()
    lo = start[flat_path]
    counts = np.where(valid.ravel(), start[flat_path + 1] - lo, 0)
    entries = np.flatnonzero(counts)
    if len(entries) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    counts, lo = counts[entries], lo[entries]
    total = int(counts.sum())
    run_start = np.cumsum(counts) - counts
    hit = order[np.arange(total) + np.repeat(lo - run_start, counts)]
    return np.repeat(entries, counts), hit
