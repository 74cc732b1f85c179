"""Lane changes: when a vehicle wants one, whether it is safe, and the path that makes it.

A vehicle wants to move left or right when the client forces it (`force_lane_change`,
kept for up to FORCE_PATIENCE_S until it is safe), when a random roll of
`random_left/right_lanechange_percentage` or `keep_right_rule_percentage` comes up (one
roll per DECISION_S; CARLA rolls every tick but then spaces changes by distance), or when
`auto_lane_change` is on and a slow vehicle ahead has held it up for SLOW_PATIENCE_S (not
a queue waiting at a light or junction: that queue would be there in the next lane too).

It changes only into a lane of the same direction that the lane markings allow, with no
junction within the manoeuvre, and when no vehicle or walker is near its place in the
target lane (room ahead and behind grows with the speed difference). The path then
switches to the neighbour lane with a lateral shift that starts at the vehicle's own
offset and fades to zero over the blend length (smoothstep: lateral acceleration stays
below about 2 m/s^2), so steering follows a smooth S instead of a jump.

The per-row work runs as numba kernels (`lanechange_kernels.py`, which holds the numbers);
what stays here is the random draw, the re-rooting of the paths that start a change, and
the settings a forced change uses up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from runner.sim.traffic import paths
from runner.sim.traffic.fleet import BoolArray, Fleet, FloatArray, IntArray
from runner.sim.traffic.graph import LaneGraph
from runner.sim.traffic.lanechange_kernels import (
    BLEND_MAX_M,
    BLEND_MIN_M,
    BLEND_PER_MPS,
    LEFT,
    NONE,
    RIGHT,
    apply_kernel,
    clocks_kernel,
    due_kernel,
    wish_kernel,
)
from runner.sim.traffic.obstacles import Ahead, Obstacles
from runner.sim.traffic.parameters import Knobs, VehicleSettings

__all__ = [
    "LEFT",
    "NONE",
    "RIGHT",
    "Context",
    "apply",
    "blend_length",
    "finish",
    "in_junction",
    "update_clocks",
    "wishes",
]

_NO_ROLL = np.zeros((0, 3))  # no roll due this step
_NO_PCT = np.zeros(0)
_NO_WISH = np.zeros(0, np.int64)


@dataclass(frozen=True, slots=True)
class Context:
    """This step's facts the decision needs, per fleet row."""

    xy: FloatArray
    speed: FloatArray
    wanted: FloatArray
    offset: FloatArray  # lane offset the path carries (set_lane_offset)
    ahead: Ahead
    held: BoolArray  # the binding constraint is a light, junction or dead end
    obstacles: Obstacles
    own: IntArray  # each row's obstacle row, -1


@functools.lru_cache(maxsize=4)
def in_junction(graph: LaneGraph) -> BoolArray:
    """`graph.in_junction` as one contiguous array, kept per graph."""
    return np.ascontiguousarray(graph.in_junction)


def blend_length(speed: FloatArray) -> FloatArray:
    """Lane-change length by speed (`lanechange_kernels.blend` is the same per row)."""
    return np.clip(BLEND_MIN_M + BLEND_PER_MPS * np.maximum(speed, 0.0), BLEND_MIN_M, BLEND_MAX_M)


def _column(fleet: Fleet, name: str) -> NDArray[Any]:
    """A fleet column a kernel writes in place: made contiguous first if it is not."""
    column = fleet.cols[name]
    if not column.flags.c_contiguous:
        column = fleet.cols[name] = np.ascontiguousarray(column)
    return column


def _f(values: NDArray[Any]) -> FloatArray:
    """Kernel input as contiguous float64 (one compiled signature for every caller)."""
    return np.ascontiguousarray(values, dtype=np.float64)


def _i(values: NDArray[Any]) -> IntArray:
    return np.ascontiguousarray(values, dtype=np.int64)


def _b(values: NDArray[Any]) -> BoolArray:
    return np.ascontiguousarray(values, dtype=np.bool_)


def update_clocks(fleet: Fleet, dt_s: float) -> None:
    """Cooldowns run down; a manoeuvre ends when its shift has faded."""
    clocks_kernel(
        _column(fleet, "lc_dir"),
        _column(fleet, "lane_change_wait_s"),
        _column(fleet, "lc_roll_s"),
        _f(fleet.shift[:, 0]),
        float(dt_s),
    )


def wishes(
    fleet: Fleet,
    knobs: Knobs,
    ctx: Context,
    rng: np.random.Generator,
    dt_s: float,
    path_wish: IntArray | None = None,
) -> tuple[IntArray, IntArray, BoolArray]:
    """(direction wanted, the other direction if that one is not possible, forced) per row.

    Wanted: a random or keep-right roll (one draw of (N, 3) whenever any roll is due), a
    slow leader for SLOW_PATIENCE_S (auto_lane_change), set_path's lane, a forced change.
    """
    n = len(fleet)
    lc_dir = _i(fleet.i("lc_dir"))
    steered = _f(knobs.f("has_path"))  # set_path: no ideas of its own
    free, due = np.empty(n, np.bool_), np.empty(n, np.bool_)
    roll, left_pct, right_pct, keep_pct = _NO_ROLL, _NO_PCT, _NO_PCT, _NO_PCT
    wait = _f(fleet.f("lane_change_wait_s"))
    if due_kernel(lc_dir, wait, _column(fleet, "lc_roll_s"), steered, free, due):
        roll = rng.random((n, 3))
        left_pct = _f(knobs.f("random_left_pct"))
        right_pct = _f(knobs.f("random_right_pct"))
        keep_pct = _f(knobs.f("keep_right_pct"))
    want, alt, forced = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.bool_)
    wish_kernel(
        free,
        due,
        roll,
        left_pct,
        right_pct,
        keep_pct,
        _f(knobs.f("force_lane_change")),
        lc_dir,
        steered,
        _f(knobs.f("auto_lane_change")),
        _i(ctx.ahead.obstacle),
        _f(ctx.ahead.along_m),
        _f(ctx.ahead.speed),
        _b(ctx.obstacles.walker),
        _f(ctx.speed),
        _f(ctx.wanted),
        _b(ctx.held),
        _i(ctx.own),
        _column(fleet, "slow_lead_s"),
        float(dt_s),
        _NO_WISH if path_wish is None else _i(path_wish),
        want,
        alt,
        forced,
    )
    return want, alt, forced


def apply(
    graph: LaneGraph,
    fleet: Fleet,
    want: IntArray,
    alt: IntArray,
    forced: BoolArray,
    per: list[VehicleSettings],
    ctx: Context,
    geom: paths.PathGeometry,
    dt_s: float,
) -> IntArray:
    """Start every safe wanted change; returns the rows whose path now runs in a new lane.

    A change into a lane of the same direction that the markings allow, no junction
    within the blend, and room in the target lane; a row that cannot go left tries its
    other side, a forced one keeps waiting (up to FORCE_PATIENCE_S) and is used up when
    it starts.
    """
    if not (want.any() or forced.any()):  # most steps: the kernel would only zero these
        fleet.f("force_wait_s")[:] = 0.0
        return np.zeros(0, np.int64)
    n = len(want)
    go, target = np.empty(n, np.int64), np.empty(n, np.int64)
    expired = np.empty(n, np.bool_)
    obs = ctx.obstacles
    started, used_up = apply_kernel(
        _i(want),
        _i(alt),
        _b(forced),
        _i(fleet.path),
        _f(geom.along),
        _b(geom.valid),
        _f(ctx.speed),
        _f(ctx.ahead.along_m),
        _f(fleet.f("front_m")),
        _f(fleet.f("rear_m")),
        _i(ctx.own),
        _i(graph.left),
        _i(graph.right_lane),
        _i(graph.lane_change),
        in_junction(graph),
        graph.pos_x,
        graph.pos_y,
        graph.fwd_x,
        graph.fwd_y,
        _f(obs.xy),
        _f(obs.velocity),
        _f(obs.front_m),
        _f(obs.rear_m),
        _column(fleet, "lane_change_wait_s"),
        _column(fleet, "force_wait_s"),
        float(dt_s),
        go,
        target,
        expired,
    )
    done = np.zeros(0, np.int64)
    if started:
        length = blend_length(ctx.speed)
        moved: list[IntArray] = []
        for direction in (LEFT, RIGHT):
            rows = np.flatnonzero(go == direction)
            if len(rows):
                _start(graph, fleet, rows, target[rows], direction, ctx, length[rows])
                moved.append(rows)
        done = np.concatenate(moved)
    if used_up:
        for row in np.flatnonzero(expired).tolist():
            per[row].force_lane_change = None
    return done


def _start(
    graph: LaneGraph,
    fleet: Fleet,
    rows: IntArray,
    target: IntArray,
    direction: int,
    ctx: Context,
    length: FloatArray,
) -> None:
    """Re-root the paths in the target lane; `finish` blends the shift once they regrow."""
    lateral = np.einsum("ij,ij->i", ctx.xy[rows] - graph.pos[target, :2], graph.right[target])
    paths.reset_rows(fleet, rows, target)
    fleet.f("lc_shift0")[rows] = lateral - ctx.offset[rows]
    fleet.f("lc_blend_m")[rows] = length
    fleet.i("lc_dir")[rows] = direction
    fleet.f("slow_lead_s")[rows] = 0.0


def finish(fleet: Fleet, rows: IntArray) -> None:
    """After `paths.extend`: the shift fades from the vehicle's offset to the new centre."""
    if len(rows) == 0:
        return
    k = np.arange(fleet.path.shape[1], dtype=np.float64)[None, :]  # samples are 1 m apart
    u = np.clip(k / fleet.f("lc_blend_m")[rows][:, None], 0.0, 1.0)
    fade = 1.0 - u * u * (3.0 - 2.0 * u)
    fleet.shift[rows] = fleet.f("lc_shift0")[rows][:, None] * fade
