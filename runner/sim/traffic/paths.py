"""Each vehicle's planned path: finding it, keeping it under the vehicle, growing it ahead.

All operations work on every vehicle at once. Branches (junction entries, lane splits) are
the only decisions; `Chooser` makes them (random, or following a set_path / set_route).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

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
    window = fleet.path[:, :ADVANCE_WINDOW]
    lateral = fleet.shift[:, :ADVANCE_WINDOW] + offset_m[:, None]
    pts = np.take(_plane(graph), window, axis=0) + lateral[..., None] * np.take(
        graph.right, window, axis=0
    )
    d2 = ((pts - xy[:, None, :]) ** 2).sum(axis=2)
    length = fleet.i("length")
    d2[np.arange(ADVANCE_WINDOW)[None, :] >= length[:, None]] = np.inf
    step = np.argmin(d2, axis=1)
    off = d2[np.arange(n), step] > OFF_PATH_M**2
    step[off] = 0
    _shift_left(fleet, step)
    return off, step


def _shift_left(fleet: Fleet, step: IntArray) -> None:
    if not step.any():
        return
    k = np.arange(HORIZON)[None, :]
    length = fleet.i("length")
    src = np.minimum(k + step[:, None], HORIZON - 1)
    fleet.path = np.take_along_axis(fleet.path, src, axis=1)
    fleet.shift = np.take_along_axis(fleet.shift, src, axis=1)
    fleet.cols["length"] = np.maximum(length - step, 1)
    _pad(fleet)


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
    path = fleet.path
    lateral = fleet.shift + offset_m[:, None]
    # np.take, not graph.pos[path]: for (N, K) indices it is about 20 times faster
    points = np.take(_plane(graph), path, axis=0)
    if lateral.any():
        points += lateral[..., None] * np.take(graph.right, path, axis=0)
    tangent = np.take(graph.fwd, path, axis=0)
    d = np.diff(points, axis=1)
    hop = np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])
    cum = np.zeros(path.shape)
    np.cumsum(hop, axis=1, out=cum[:, 1:])
    behind = np.einsum("ij,ij->i", xy - points[:, 0], tangent[:, 0])  # vehicle ahead of point 0
    along = cum - behind[:, None]
    valid = np.arange(HORIZON)[None, :] < fleet.i("length")[:, None]
    turn = np.diff(np.take(graph.heading_rad, path), axis=1)
    turn = (turn + np.pi) % (2.0 * np.pi) - np.pi
    return PathGeometry(points, tangent, along, valid, turn)


@functools.lru_cache(maxsize=4)
def _plane(graph: LaneGraph) -> FloatArray:
    """Sample positions in the plane, contiguous (indexing (S, 3)[..., :2] copies more)."""
    return np.ascontiguousarray(graph.pos[:, :2])
