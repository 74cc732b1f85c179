"""What stands on each vehicle's path: the nearest vehicle or walker ahead, and its speed.

Each obstacle is a few points along its length; every lane sample within (its half width
plus a vehicle's) of one of those points is "covered" by it. A vehicle meets an obstacle
where its own path runs through a covered sample; the exact distance along the path and
the lateral clearance are then measured from the path point. This finds leaders in the
same lane, vehicles cutting in, crossing traffic inside junctions and walkers on the
road alike. The walk is one numba kernel (`_nearest_kernel`): as numpy stages it cost
about three times as much at 200 cars, most of it in building and sorting pair arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from runner.sim.profiling import TIMER
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
    n = len(path)
    along = np.full(n, np.inf)
    speed = np.zeros(n)
    which = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(obstacles.ids) == 0:
        return Ahead(along, speed, which)
    pts, owner, reach = _points(obstacles)
    g = graph.grid.table()
    _nearest_kernel(
        np.ascontiguousarray(path),
        np.ascontiguousarray(geom.valid),
        np.ascontiguousarray(geom.along),
        np.ascontiguousarray(geom.points),
        np.ascontiguousarray(geom.tangent),
        np.ascontiguousarray(half_width_m, dtype=np.float64),
        np.ascontiguousarray(own, dtype=np.int64),
        np.ascontiguousarray(ignore),
        pts,
        owner,
        reach,
        np.ascontiguousarray(obstacles.half_width_m, dtype=np.float64),
        np.ascontiguousarray(obstacles.velocity, dtype=np.float64),
        graph.size,
        g.members,
        g.start,
        g.mx,
        g.my,
        g.origin_x,
        g.origin_y,
        g.nx,
        g.ny,
        g.cell_m,
        g.reach,
        along,
        speed,
        which,
    )
    return Ahead(along, speed, which)


@numba.njit(cache=True, nogil=True)
def _nearest_kernel(
    path: IntArray,
    valid: BoolArray,
    path_along: FloatArray,
    path_xy: FloatArray,
    tangent: FloatArray,
    half_width_m: FloatArray,
    own: IntArray,
    ignore: BoolArray,
    pts: FloatArray,
    owner: IntArray,
    reach: FloatArray,
    obs_half_width_m: FloatArray,
    velocity: FloatArray,
    samples: int,
    members: IntArray,
    start: IntArray,
    mx: FloatArray,
    my: FloatArray,
    origin_x: int,
    origin_y: int,
    nx: int,
    ny: int,
    cell_m: float,
    cells: int,
    along: FloatArray,
    speed: FloatArray,
    which: IntArray,
) -> None:
    """`find_ahead` compiled: cover the lane samples, then walk each path to its first block.

    Cover: every sample within a point's radius gets that point (a linked list per sample,
    points ascending). Walk: along each row's path in order, every covering point of an
    obstacle the row does not ignore and passes too close to laterally is a candidate at
    (entry's distance + the point's offset along the tangent); the nearest wins, the first
    along the path on a tie. A point lies at most its radius (<= one cell) from the entry
    it covers, so the walk stops once the entries are a cell beyond the best found.
    """
    head = np.full(samples, -1, np.int64)
    hit_point = np.empty(64 + 64 * len(pts), np.int64)
    hit_next = np.empty(64 + 64 * len(pts), np.int64)
    used = 0
    lim_x, lim_y = nx - 1 - cells, ny - 1 - cells
    for p in range(len(pts) - 1, -1, -1):
        x, y, r = pts[p, 0], pts[p, 1], reach[p]
        ix = min(max(int(np.floor(x / cell_m)) - origin_x, cells), lim_x)
        iy = min(max(int(np.floor(y / cell_m)) - origin_y, cells), lim_y)
        lo_x = max(int(np.floor((x - r) / cell_m)) - origin_x - ix, -cells)
        hi_x = min(int(np.floor((x + r) / cell_m)) - origin_x - ix, cells)
        lo_y = max(int(np.floor((y - r) / cell_m)) - origin_y - iy, -cells)
        hi_y = min(int(np.floor((y + r) / cell_m)) - origin_y - iy, cells)
        r2 = r * r
        for dx in range(lo_x, hi_x + 1):
            for dy in range(lo_y, hi_y + 1):
                c = (ix + dx) * ny + (iy + dy)
                for m in range(start[c], start[c + 1]):
                    ddx, ddy = mx[m] - x, my[m] - y
                    if ddx * ddx + ddy * ddy <= r2:
                        if used == len(hit_point):
                            hit_point = np.concatenate((hit_point, np.empty_like(hit_point)))
                            hit_next = np.concatenate((hit_next, np.empty_like(hit_next)))
                        s = members[m]
                        hit_point[used] = p
                        hit_next[used] = head[s]
                        head[s] = used
                        used += 1
    n, k_max = path.shape
    for row in range(n):
        best, best_j, best_tx, best_ty = np.inf, -1, 0.0, 0.0
        for k in range(k_max):
            if not valid[row, k]:
                continue
            base = path_along[row, k]
            if base - cell_m > best:
                break
            h = head[path[row, k]]
            if h < 0:
                continue
            px, py = path_xy[row, k, 0], path_xy[row, k, 1]
            tx, ty = tangent[row, k, 0], tangent[row, k, 1]
            while h >= 0:
                p = hit_point[h]
                h = hit_next[h]
                j = owner[p]
                if j == own[row] or ignore[row, j]:
                    continue
                rx, ry = pts[p, 0] - px, pts[p, 1] - py
                dist = base + rx * tx + ry * ty
                if dist <= 0.0 or dist >= best:
                    continue
                if abs(ry * tx - rx * ty) < obs_half_width_m[j] + half_width_m[row] + CLEARANCE_M:
                    best, best_j, best_tx, best_ty = dist, j, tx, ty
        if best_j >= 0:
            along[row] = best
            which[row] = best_j
            speed[row] = velocity[best_j, 0] * best_tx + velocity[best_j, 1] * best_ty


def _points(obstacles: Obstacles) -> tuple[FloatArray, IntArray, FloatArray]:
    """POINTS_PER_OBSTACLE points from rear to front of each obstacle, with cover radii.

    The trig stays numpy's (its vectorised cos/sin may round differently from libm's);
    the rest is one small kernel (as a dozen numpy stages it cost ~80 us at 200 cars).
    """
    m = len(obstacles.ids)
    pts = np.empty((m * POINTS_PER_OBSTACLE, 2))
    owner = np.empty(m * POINTS_PER_OBSTACLE, np.int64)
    reach = np.empty(m * POINTS_PER_OBSTACLE)
    _points_kernel(
        np.ascontiguousarray(obstacles.xy, dtype=np.float64),
        np.cos(obstacles.yaw_rad),
        np.sin(obstacles.yaw_rad),
        np.ascontiguousarray(obstacles.front_m, dtype=np.float64),
        np.ascontiguousarray(obstacles.rear_m, dtype=np.float64),
        np.ascontiguousarray(obstacles.half_width_m, dtype=np.float64),
        np.linspace(0.0, 1.0, POINTS_PER_OBSTACLE),
        EGO_HALF_WIDTH_M,
        CLEARANCE_M,
        GRID_CELL_M,
        pts,
        owner,
        reach,
    )
    return pts, owner, reach


@numba.njit(cache=True, nogil=True)
def _points_kernel(
    xy: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    front_m: FloatArray,
    rear_m: FloatArray,
    half_width_m: FloatArray,
    u: FloatArray,
    ego_half_width_m: float,
    clearance_m: float,
    max_reach_m: float,
    pts: FloatArray,
    owner: IntArray,
    reach: FloatArray,
) -> None:
    """Point q of obstacle j at u[q] of the way from its rear to its front, radius capped."""
    per = len(u)
    for j in range(len(xy)):
        length = front_m[j] + rear_m[j]
        r = min(half_width_m[j] + ego_half_width_m + clearance_m, max_reach_m)
        for q in range(per):
            offset = -rear_m[j] + u[q] * length
            p = j * per + q
            pts[p, 0] = xy[j, 0] + offset * cos[j]
            pts[p, 1] = xy[j, 1] + offset * sin[j]
            owner[p] = j
            reach[p] = r
