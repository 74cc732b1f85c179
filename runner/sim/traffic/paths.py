"""Each vehicle's planned path: finding it, keeping it under the vehicle, growing it ahead.

All operations work on every vehicle at once. Branches (junction entries, lane splits) are
the only decisions; `Chooser` makes them (random, or following a set_path / set_route).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from runner.sim.traffic.fleet import HORIZON, BoolArray, Fleet, FloatArray, IntArray
from runner.sim.traffic.graph import LaneGraph

LOCATE_RADIUS_M = 3.0
HEADING_WEIGHT_M2 = 25.0  # a lane pointing the wrong way costs like being 5 m off it
WRONG_WAY_COS = 0.3  # samples facing further away from the vehicle than this are not its lane
ADVANCE_WINDOW = 8  # how far down its path a vehicle can move in one step (samples)
OFF_PATH_M = 3.0  # farther than this from its own path, a vehicle is located afresh

Chooser = Callable[[IntArray, IntArray], IntArray]  # (fleet rows, branch samples) -> next


@dataclass(frozen=True, slots=True)
class PathGeometry:
    """World-frame path of every vehicle; distances relative to the vehicle's own position."""

    points: FloatArray  # (N, K, 2)
    tangent: FloatArray  # (N, K, 2)
    along: FloatArray  # (N, K) distance from the vehicle to each point, along the path
    valid: BoolArray  # (N, K) point is on the path (not padding past a dead end)
    turn: FloatArray  # (N, K - 1) heading change from each point to the next [rad]


def locate(graph: LaneGraph, xy: FloatArray, yaw_rad: FloatArray) -> IntArray:
    """The lane sample each vehicle stands on (facing its way), -1 when off every lane."""
    n = len(xy)
    found = np.full(n, -1, dtype=np.int64)
    hits = graph.grid.within(xy, LOCATE_RADIUS_M)
    if len(hits.row) == 0:
        return found
    heading = np.stack([np.cos(yaw_rad), np.sin(yaw_rad)], axis=1)
    cos = np.einsum("ij,ij->i", graph.fwd[hits.sample], heading[hits.row])
    score = hits.d2 + HEADING_WEIGHT_M2 * (1.0 - cos)
    score[cos < WRONG_WAY_COS] = np.inf
    order = np.lexsort((score, hits.row))
    rows, first = np.unique(hits.row[order], return_index=True)
    best = order[first]
    ok = np.isfinite(score[best])
    found[rows[ok]] = hits.sample[best[ok]]
    return found


def reset_rows(fleet: Fleet, rows: IntArray, samples: IntArray) -> None:
    """Start the paths of `rows` afresh at `samples` (they grow on the next `extend`)."""
    fleet.path[rows] = samples[:, None]
    fleet.shift[rows] = 0.0
    fleet.i("length")[rows] = 1


def advance(
    graph: LaneGraph, fleet: Fleet, xy: FloatArray, offset_m: FloatArray
) -> tuple[BoolArray, IntArray]:
    """Drop the samples each vehicle has passed; returns (rows off their path, samples dropped)."""
    n = len(fleet)
    off = np.zeros(n, dtype=np.bool_)
    step = np.zeros(n, dtype=np.int64)
    if n == 0:
        return off, step
    fleet.path = np.ascontiguousarray(fleet.path)
    fleet.shift = np.ascontiguousarray(fleet.shift)
    fleet.cols["length"] = np.ascontiguousarray(fleet.i("length"))
    _advance_kernel(
        _plane(graph),
        graph.right,
        fleet.path,
        fleet.shift,
        fleet.i("length"),
        np.ascontiguousarray(offset_m, dtype=np.float64),
        np.ascontiguousarray(xy, dtype=np.float64),
        ADVANCE_WINDOW,
        OFF_PATH_M * OFF_PATH_M,
        off,
        step,
    )
    return off, step


@numba.njit(cache=True, nogil=True)
def _advance_kernel(
    plane: FloatArray,
    right: FloatArray,
    path: IntArray,
    shift: FloatArray,
    length: IntArray,
    offset_m: FloatArray,
    xy: FloatArray,
    window: int,
    off_path_m2: float,
    off: BoolArray,
    step: IntArray,
) -> None:
    """`advance` in place: nearest of the first `window` real entries, then shift left.

    The nearest entry becomes entry 0 (the first of equals on a tie); a row farther than
    the off-path distance from all of them keeps its path and is flagged. When any row
    moved, every row's entries past its length repeat its last real sample (as `_pad`).
    """
    n, horizon = path.shape
    moved = False
    for r in range(n):
        best, best_k = np.inf, 0
        for k in range(min(window, length[r])):
            s = path[r, k]
            lateral = shift[r, k] + offset_m[r]
            dx = plane[s, 0] + lateral * right[s, 0] - xy[r, 0]
            dy = plane[s, 1] + lateral * right[s, 1] - xy[r, 1]
            d2 = dx * dx + dy * dy
            if d2 < best:
                best, best_k = d2, k
        if best > off_path_m2:
            off[r] = True
            best_k = 0
        step[r] = best_k
        if best_k > 0:
            moved = True
            for k in range(horizon):
                src = min(k + best_k, horizon - 1)
                path[r, k] = path[r, src]
                shift[r, k] = shift[r, src]
            length[r] = max(length[r] - best_k, 1)
    if moved:
        for r in range(n):
            last = path[r, length[r] - 1]
            for k in range(length[r], horizon):
                path[r, k] = last
                shift[r, k] = 0.0


def _pad(fleet: Fleet) -> None:
    """Entries past a row's length repeat its last real sample (keeps geometry finite)."""
    length = fleet.i("length")
    last = fleet.path[np.arange(len(fleet)), length - 1]
    beyond = np.arange(HORIZON)[None, :] >= length[:, None]
    fleet.path = np.where(beyond, last[:, None], fleet.path)
    fleet.shift = np.where(beyond, 0.0, fleet.shift)


def extend(graph: LaneGraph, fleet: Fleet, choose: Chooser, max_steps: int = HORIZON) -> None:
    """Grow every path towards HORIZON samples, one column at a time, until dead ends."""
    length = fleet.i("length")
    for _ in range(max_steps):
        rows = np.flatnonzero(length < HORIZON)
        if len(rows) == 0:
            return
        last = fleet.path[rows, length[rows] - 1]
        count = graph.succ_start[last + 1] - graph.succ_start[last]
        live = count > 0
        rows, last, count = rows[live], last[live], count[live]
        if len(rows) == 0:
            return
        nxt = graph.succ[graph.succ_start[last]]
        branch = count > 1
        if branch.any():
            nxt[branch] = choose(rows[branch], last[branch])
        fleet.path[rows, length[rows]] = nxt
        fleet.shift[rows, length[rows]] = 0.0
        length[rows] += 1
    _pad(fleet)


def dead_end(graph: LaneGraph, fleet: Fleet) -> BoolArray:
    """Rows whose path ends before HORIZON because the lane goes nowhere."""
    length = fleet.i("length")
    last = fleet.path[np.arange(len(fleet)), length - 1]
    return (length < HORIZON) & (graph.succ_start[last + 1] == graph.succ_start[last])


def geometry(graph: LaneGraph, fleet: Fleet, xy: FloatArray, offset_m: FloatArray) -> PathGeometry:
    n, k = fleet.path.shape
    points = np.empty((n, k, 2))
    tangent = np.empty((n, k, 2))
    along = np.empty((n, k))
    valid = np.empty((n, k), dtype=np.bool_)
    turn = np.empty((n, max(k - 1, 0)))
    if n:
        _geometry_kernel(
            _plane(graph),
            graph.right,
            graph.fwd,
            graph.heading_rad,
            np.ascontiguousarray(fleet.path),
            np.ascontiguousarray(fleet.shift),
            np.ascontiguousarray(offset_m, dtype=np.float64),
            np.ascontiguousarray(fleet.i("length")),
            np.ascontiguousarray(xy, dtype=np.float64),
            points,
            tangent,
            along,
            valid,
            turn,
        )
    return PathGeometry(points, tangent, along, valid, turn)


@numba.njit(cache=True, nogil=True)
def _geometry_kernel(
    plane: FloatArray,
    right: FloatArray,
    fwd: FloatArray,
    heading_rad: FloatArray,
    path: IntArray,
    shift: FloatArray,
    offset_m: FloatArray,
    length: IntArray,
    xy: FloatArray,
    points: FloatArray,
    tangent: FloatArray,
    along: FloatArray,
    valid: BoolArray,
    turn: FloatArray,
) -> None:
    """`geometry` in one pass per row (as numpy stages it made a dozen (N, K) temporaries).

    Points are the lane samples shifted sideways by the row's lane-change shift plus its
    lane offset; `along` is the distance along them from the vehicle (which stands
    `behind` ahead of point 0 along its tangent); `turn` wraps to [-pi, pi).
    """
    n, k_max = path.shape
    two_pi = 2.0 * np.pi
    for r in range(n):
        cum = 0.0
        for k in range(k_max):
            s = path[r, k]
            lateral = shift[r, k] + offset_m[r]
            x = plane[s, 0]
            y = plane[s, 1]
            if lateral != 0.0:
                x += lateral * right[s, 0]
                y += lateral * right[s, 1]
            if k > 0:
                dx, dy = x - points[r, k - 1, 0], y - points[r, k - 1, 1]
                cum += np.sqrt(dx * dx + dy * dy)
                t = heading_rad[s] - heading_rad[path[r, k - 1]]
                turn[r, k - 1] = (t + np.pi) % two_pi - np.pi
            points[r, k, 0], points[r, k, 1] = x, y
            tangent[r, k, 0], tangent[r, k, 1] = fwd[s, 0], fwd[s, 1]
            along[r, k] = cum
            valid[r, k] = k < length[r]
        behind = (xy[r, 0] - points[r, 0, 0]) * tangent[r, 0, 0]
        behind += (xy[r, 1] - points[r, 0, 1]) * tangent[r, 0, 1]
        for k in range(k_max):
            along[r, k] -= behind


@functools.lru_cache(maxsize=4)
def _plane(graph: LaneGraph) -> FloatArray:
    """Sample positions in the plane, contiguous (indexing (S, 3)[..., :2] copies more)."""
    return np.ascontiguousarray(graph.pos[:, :2])
