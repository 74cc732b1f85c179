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
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from runner.sim.traffic import paths
from runner.sim.traffic.fleet import BoolArray, Fleet, FloatArray, IntArray
from runner.sim.traffic.graph import LANE_CHANGE_LEFT, LANE_CHANGE_RIGHT, LaneGraph
from runner.sim.traffic.obstacles import Ahead, Obstacles
from runner.sim.traffic.parameters import Knobs, VehicleSettings

NONE, LEFT, RIGHT = 0, 1, 2
BLEND_MIN_M = 8.0
BLEND_PER_MPS = 2.5
BLEND_MAX_M = 50.0
COOLDOWN_S = 3.0  # between the end of one lane change and the next
DECISION_S = 1.0  # random and keep-right rolls, once per this interval
FORCE_PATIENCE_S = 5.0
SLOW_RATIO = 0.7  # a leader slower than this share of the wanted speed holds a vehicle up
SLOW_RANGE_M = 25.0
SLOW_PATIENCE_S = 1.0
JUNCTION_MARGIN_M = 5.0
TARGET_LANE_HALF_M = 2.3  # obstacles this close to the target lane's centre occupy it
ROOM_M = 5.0  # wanted room ahead of and behind the vehicle in the target lane
ROOM_HEADWAY_S = 1.0
ROOM_CLOSING_S = 3.0
DONE_SHIFT_M = 0.1  # a remaining shift below this ends the manoeuvre
RETRY_S = 0.5  # a change found unsafe is looked at again after this
LEAD_SHARE = 0.6  # the leader must be this share of the blend away: clear of it by then


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
    """`graph.in_junction`, computed once per graph (the property recomputes it)."""
    return graph.in_junction


def blend_length(speed: FloatArray) -> FloatArray:
    return np.clip(BLEND_MIN_M + BLEND_PER_MPS * np.maximum(speed, 0.0), BLEND_MIN_M, BLEND_MAX_M)


def update_clocks(fleet: Fleet, dt_s: float) -> None:
    """Cooldowns run down; a manoeuvre ends when its shift has faded."""
    wait = fleet.f("lane_change_wait_s")
    moving = fleet.i("lc_dir") != NONE
    done = moving & (np.abs(fleet.shift[:, 0]) < DONE_SHIFT_M)
    fleet.i("lc_dir")[done] = NONE
    wait[done] = COOLDOWN_S
    busy = fleet.i("lc_dir") != NONE
    wait[~busy] = np.maximum(wait[~busy] - dt_s, 0.0)
    fleet.f("lc_roll_s")[:] = np.maximum(fleet.f("lc_roll_s") - dt_s, 0.0)


def wishes(
    fleet: Fleet,
    knobs: Knobs,
    ctx: Context,
    rng: np.random.Generator,
    dt_s: float,
    path_wish: IntArray | None = None,
) -> tuple[IntArray, IntArray, BoolArray]:
    """(direction wanted, the other direction if that one is not possible, forced) per row."""
    n = len(fleet)
    want = np.zeros(n, np.int64)
    alt = np.zeros(n, np.int64)
    force = knobs.f("force_lane_change")
    forced = ~np.isnan(force)
    force_left = forced & (force > 0.5)
    idle = fleet.i("lc_dir") == NONE
    free = idle & (fleet.f("lane_change_wait_s") <= 0.0)
    steered = knobs.b("has_path")  # set_path: no ideas of its own
    roll_now = free & (fleet.f("lc_roll_s") <= 0.0) & ~steered
    if roll_now.any():
        fleet.f("lc_roll_s")[roll_now] = DECISION_S
        pl = knobs.f("random_left_pct") / 100.0
        pr = knobs.f("random_right_pct") / 100.0
        pk = knobs.f("keep_right_pct") / 100.0
        roll = rng.random((n, 3))
        right = roll_now & ((roll[:, 2] < pk) | (roll[:, 1] < pr))
        left = roll_now & (roll[:, 0] < pl)
        want[right] = RIGHT
        want[left] = LEFT
        alt[left & right] = RIGHT  # both rolls came up: whichever side has a lane
    slow = _held_up(fleet, knobs, ctx, dt_s) & free & ~steered & (want == NONE)
    want[slow], alt[slow] = LEFT, RIGHT  # overtake on the left, else pass on the right
    if path_wish is not None:  # set_path: the lane that leads to the next target
        want = np.where(steered & (path_wish != NONE), path_wish, want)
    want[forced] = np.where(force_left[forced], LEFT, RIGHT)
    alt[forced] = NONE
    forced &= idle
    go = free | forced
    return np.where(go, want, NONE), np.where(go, alt, NONE), forced


def _held_up(fleet: Fleet, knobs: Knobs, ctx: Context, dt_s: float) -> BoolArray:
    """Rows held up by a slow vehicle (not a queue) for SLOW_PATIENCE_S."""
    auto = knobs.b("auto_lane_change")
    lead = ctx.ahead.obstacle
    has = lead >= 0
    vehicle_lead = has & ~ctx.obstacles.walker[np.maximum(lead, 0)]
    slow = (
        auto
        & vehicle_lead
        & (ctx.ahead.along_m < np.maximum(SLOW_RANGE_M, 2.0 * ctx.speed))
        & (ctx.ahead.speed < SLOW_RATIO * ctx.wanted)
        & (ctx.wanted > 2.0)
        & ~ctx.held
    )
    queued = _queued(ctx, slow)
    slow &= ~queued
    timer = fleet.f("slow_lead_s")
    timer[:] = np.where(slow, timer + dt_s, 0.0)
    return timer >= SLOW_PATIENCE_S


def _queued(ctx: Context, slow: BoolArray) -> BoolArray:
    """Rows whose leader is (transitively) waiting at a light, junction or dead end."""
    n = len(slow)
    row_of_obs = np.full(len(ctx.obstacles.ids), -1, np.int64)
    mine = ctx.own >= 0
    row_of_obs[ctx.own[mine]] = np.flatnonzero(mine)
    lead = ctx.ahead.obstacle
    lead_row = np.where(lead >= 0, row_of_obs[np.maximum(lead, 0)], -1)
    queued = ctx.held.copy()
    waiting = (ctx.speed < 2.0) | slow
    for _ in range(min(n, 16)):
        grown = queued | (waiting & (lead_row >= 0) & queued[np.maximum(lead_row, 0)])
        if (grown == queued).all():
            break
        queued = grown
    return queued & ~ctx.held


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
    """Start every safe wanted change; returns the rows whose path now runs in a new lane."""
    started: list[IntArray] = []
    length = blend_length(ctx.speed)
    pending = want.copy()
    for direction in (LEFT, RIGHT):
        rows = np.flatnonzero(pending == direction)
        if len(rows) == 0:
            continue
        ok, target = _feasible(graph, fleet, rows, direction, ctx, geom, length)
        go = rows[ok]
        if len(go):
            _start(graph, fleet, go, target[ok], direction, ctx, length[go])
            started.append(go)
        # one that cannot go left tries its other side; forced ones keep waiting
        retry = rows[~ok]
        wait = fleet.f("lane_change_wait_s")
        wait[retry] = np.where(forced[retry], 0.0, RETRY_S)
        pending[retry] = NONE
        if direction == LEFT:
            other = retry[alt[retry] == RIGHT]
            pending[other] = RIGHT
    done = np.concatenate(started) if started else np.zeros(0, np.int64)
    _settle_forced(fleet, per, forced, done, dt_s)
    return done


def _feasible(
    graph: LaneGraph,
    fleet: Fleet,
    rows: IntArray,
    direction: int,
    ctx: Context,
    geom: paths.PathGeometry,
    length: FloatArray,
) -> tuple[BoolArray, IntArray]:
    """Whether each row may move `direction` now, and the target-lane sample to start on."""
    neighbour = graph.left if direction == LEFT else graph.right_lane
    bit = LANE_CHANGE_LEFT if direction == LEFT else LANE_CHANGE_RIGHT
    path = fleet.path[rows]
    along = geom.along[rows]
    valid = geom.valid[rows]
    start = path[:, 0]
    target = neighbour[start]
    ok = (target >= 0) & ((graph.lane_change[start] & bit) > 0)
    near = valid & (along < length[rows, None] + JUNCTION_MARGIN_M)
    ok &= ~(near & in_junction(graph)[path]).any(axis=1)
    span = valid & (along < length[rows, None])
    ok &= ~(span & (neighbour[path] < 0)).any(axis=1)
    ok &= valid[:, -1] | (along.max(axis=1, where=valid, initial=0.0) > length[rows] + 5.0)
    ok &= _room(graph, rows, np.maximum(target, 0), ctx, fleet)
    lead_gap = ctx.ahead.along_m[rows] - fleet.f("front_m")[rows]
    ok &= lead_gap > LEAD_SHARE * length[rows]
    return ok, target


def _room(
    graph: LaneGraph, rows: IntArray, target: IntArray, ctx: Context, fleet: Fleet
) -> BoolArray:
    """No obstacle near each row's place in the target lane (straight-line frame)."""
    obs = ctx.obstacles
    if len(obs.ids) == 0:
        return np.ones(len(rows), dtype=bool)
    fwd = graph.fwd[target]
    rel = obs.xy[None, :, :] - graph.pos[target][:, None, :2]  # (r, M, 2)
    lon = rel[..., 0] * fwd[:, None, 0] + rel[..., 1] * fwd[:, None, 1]
    lat = np.abs(rel[..., 1] * fwd[:, None, 0] - rel[..., 0] * fwd[:, None, 1])
    v_self = ctx.speed[rows][:, None]
    v_obs = obs.velocity[None, :, 0] * fwd[:, None, 0] + obs.velocity[None, :, 1] * fwd[:, None, 1]
    ahead_need = (
        fleet.f("front_m")[rows][:, None]
        + obs.rear_m[None, :]
        + ROOM_M
        + np.maximum(v_self - v_obs, 0.0) * ROOM_CLOSING_S
    )
    behind_need = (
        fleet.f("rear_m")[rows][:, None]
        + obs.front_m[None, :]
        + ROOM_M
        + v_obs.clip(0.0) * ROOM_HEADWAY_S
        + np.maximum(v_obs - v_self, 0.0) * ROOM_CLOSING_S
    )
    blocking = (lat < TARGET_LANE_HALF_M) & (lon < ahead_need) & (lon > -behind_need)
    mine = ctx.own[rows]
    blocking[np.arange(len(rows)), np.maximum(mine, 0)] &= mine < 0
    return np.logical_not(blocking.any(axis=1))


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


def _settle_forced(
    fleet: Fleet, per: list[VehicleSettings], forced: BoolArray, done: IntArray, dt_s: float
) -> None:
    """A forced change is consumed when it starts, or dropped after FORCE_PATIENCE_S."""
    timer = fleet.f("force_wait_s")
    timer[:] = np.where(forced, timer + dt_s, 0.0)
    expired = forced & (timer > FORCE_PATIENCE_S)
    expired[done] = True
    for row in np.flatnonzero(expired & forced).tolist():
        per[row].force_lane_change = None
        timer[row] = 0.0
