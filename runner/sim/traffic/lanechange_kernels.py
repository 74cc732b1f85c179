"""The lane-change stage's loops as numba kernels, and the numbers they compile in.

As numpy the stage was some forty small operations on (N,) arrays per step (each ~5-10 us
on a small machine whatever N is), a fixed-point loop of them for queues, and (rows, K)
and (rows, M) ones for the few rows that want a change: ~0.3 ms at 200 cars. One pass per
row does the same arithmetic in the same order (no fastmath, no trig), so every result is
bit-identical to the numpy version. The constants live here because numba bakes globals
into its cache, which only this file's changes invalidate.
"""

from __future__ import annotations

import numba
import numpy as np

from runner.sim.traffic.fleet import BoolArray, FloatArray, IntArray
from runner.sim.traffic.graph import LANE_CHANGE_LEFT, LANE_CHANGE_RIGHT

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
QUEUE_DEPTH = 16  # leaders followed back to a light or junction queue
JUNCTION_MARGIN_M = 5.0
PATH_PAST_BLEND_M = 5.0  # a path ending this far past the blend is long enough
TARGET_LANE_HALF_M = 2.3  # obstacles this close to the target lane's centre occupy it
ROOM_M = 5.0  # wanted room ahead of and behind the vehicle in the target lane
ROOM_HEADWAY_S = 1.0
ROOM_CLOSING_S = 3.0
DONE_SHIFT_M = 0.1  # a remaining shift below this ends the manoeuvre
RETRY_S = 0.5  # a change found unsafe is looked at again after this
LEAD_SHARE = 0.6  # the leader must be this share of the blend away: clear of it by then


@numba.njit(cache=True, nogil=True)
def _max0(x: float) -> float:
    """np.maximum(x, 0.0): NaN stays NaN."""
    return 0.0 if x < 0.0 else x


@numba.njit(cache=True, nogil=True)
def blend(speed: float) -> float:
    """`lanechange.blend_length` of one speed (np.clip keeps NaN too)."""
    length = BLEND_MIN_M + BLEND_PER_MPS * _max0(speed)
    if length < BLEND_MIN_M:
        return BLEND_MIN_M
    if length > BLEND_MAX_M:
        return BLEND_MAX_M
    return length


@numba.njit(cache=True, nogil=True)
def clocks_kernel(
    lc_dir: IntArray, wait: FloatArray, roll: FloatArray, shift0: FloatArray, dt_s: float
) -> None:
    """`update_clocks` per row: a faded shift ends the manoeuvre, then the clocks run down."""
    for i in range(len(lc_dir)):
        if lc_dir[i] != NONE and abs(shift0[i]) < DONE_SHIFT_M:
            lc_dir[i] = NONE
            wait[i] = COOLDOWN_S
        if lc_dir[i] == NONE:
            wait[i] = _max0(wait[i] - dt_s)
        roll[i] = _max0(roll[i] - dt_s)


@numba.njit(cache=True, nogil=True)
def due_kernel(
    lc_dir: IntArray,
    wait: FloatArray,
    roll_s: FloatArray,
    has_path: FloatArray,
    free: BoolArray,
    due: BoolArray,
) -> bool:
    """Rows free to change, rows whose roll is due (their clock restarts); whether any is."""
    any_due = False
    for i in range(len(lc_dir)):
        free[i] = lc_dir[i] == NONE and wait[i] <= 0.0
        due[i] = free[i] and roll_s[i] <= 0.0 and not has_path[i] > 0.5
        if due[i]:
            roll_s[i] = DECISION_S
            any_due = True
    return any_due


@numba.njit(cache=True, nogil=True)
def wish_kernel(
    free: BoolArray,
    due: BoolArray,
    roll: FloatArray,
    left_pct: FloatArray,
    right_pct: FloatArray,
    keep_pct: FloatArray,
    force: FloatArray,
    lc_dir: IntArray,
    has_path: FloatArray,
    auto: FloatArray,
    lead: IntArray,
    lead_along: FloatArray,
    lead_speed: FloatArray,
    walker: BoolArray,
    speed: FloatArray,
    wanted: FloatArray,
    held: BoolArray,
    own: IntArray,
    slow_s: FloatArray,
    dt_s: float,
    path_wish: IntArray,
    want: IntArray,
    alt: IntArray,
    forced: BoolArray,
) -> None:
    """`wishes` after the roll draw: rolls, held-up timers, path wishes, forced changes.

    `roll` has rows only when some roll was due; `path_wish` only when set_path steers.
    """
    n = len(free)
    for i in range(n):
        want[i] = NONE
        alt[i] = NONE
        if len(roll) > 0 and due[i]:
            right = roll[i, 2] < keep_pct[i] / 100.0 or roll[i, 1] < right_pct[i] / 100.0
            left = roll[i, 0] < left_pct[i] / 100.0
            if right:
                want[i] = RIGHT
            if left:
                want[i] = LEFT
                if right:
                    alt[i] = RIGHT  # both rolls came up: whichever side has a lane
    _held_up(auto, lead, lead_along, lead_speed, walker, speed, wanted, held, own, slow_s, dt_s)
    for i in range(n):
        steered = has_path[i] > 0.5
        if slow_s[i] >= SLOW_PATIENCE_S and free[i] and not steered and want[i] == NONE:
            want[i] = LEFT  # overtake on the left, else pass on the right
            alt[i] = RIGHT
        if len(path_wish) > 0 and steered and path_wish[i] != NONE:
            want[i] = path_wish[i]
        is_forced = not np.isnan(force[i])
        if is_forced:
            want[i] = LEFT if force[i] > 0.5 else RIGHT
            alt[i] = NONE
        forced[i] = is_forced and lc_dir[i] == NONE
        if not (free[i] or forced[i]):
            want[i] = NONE
            alt[i] = NONE


@numba.njit(cache=True, nogil=True)
def _held_up(
    auto: FloatArray,
    lead: IntArray,
    lead_along: FloatArray,
    lead_speed: FloatArray,
    walker: BoolArray,
    speed: FloatArray,
    wanted: FloatArray,
    held: BoolArray,
    own: IntArray,
    slow_s: FloatArray,
    dt_s: float,
) -> None:
    """Time held up by a slow vehicle that is not (transitively) queued at a stop."""
    n = len(lead)
    row_of_obs = np.full(len(walker), -1, np.int64)
    for i in range(n):
        if own[i] >= 0:
            row_of_obs[own[i]] = i
    slow = np.zeros(n, np.bool_)
    waiting = np.zeros(n, np.bool_)
    lead_row = np.full(n, -1, np.int64)
    for i in range(n):
        j = lead[i]
        if j >= 0:
            lead_row[i] = row_of_obs[j]
        reach = 2.0 * speed[i]
        if not (reach > SLOW_RANGE_M or np.isnan(reach)):
            reach = SLOW_RANGE_M  # np.maximum(SLOW_RANGE_M, 2 v)
        slow[i] = (
            auto[i] > 0.5
            and j >= 0
            and not walker[j]
            and lead_along[i] < reach
            and lead_speed[i] < SLOW_RATIO * wanted[i]
            and wanted[i] > 2.0
            and not held[i]
        )
        waiting[i] = speed[i] < 2.0 or slow[i]
    queued = held.copy()  # grows back along waiting leaders, one step per pass
    grown = np.empty(n, np.bool_)
    for _ in range(min(n, QUEUE_DEPTH)):
        changed = False
        for i in range(n):
            j = lead_row[i]
            grown[i] = queued[i] or (waiting[i] and j >= 0 and queued[j])
            changed |= grown[i] != queued[i]
        if not changed:
            break
        queued, grown = grown, queued
    for i in range(n):
        slow_s[i] = slow_s[i] + dt_s if slow[i] and not queued[i] else 0.0


@numba.njit(cache=True, nogil=True)
def apply_kernel(
    want: IntArray,
    alt: IntArray,
    forced: BoolArray,
    path: IntArray,
    along: FloatArray,
    valid: BoolArray,
    speed: FloatArray,
    lead_along: FloatArray,
    front_m: FloatArray,
    rear_m: FloatArray,
    own: IntArray,
    left: IntArray,
    right: IntArray,
    lane_change: IntArray,
    in_junction: BoolArray,
    pos_x: FloatArray,
    pos_y: FloatArray,
    fwd_x: FloatArray,
    fwd_y: FloatArray,
    obs_xy: FloatArray,
    obs_velocity: FloatArray,
    obs_front_m: FloatArray,
    obs_rear_m: FloatArray,
    wait: FloatArray,
    force_s: FloatArray,
    dt_s: float,
    go: IntArray,
    target: IntArray,
    expired: BoolArray,
) -> tuple[int, int]:
    """`apply` up to the re-rooting: each row's side to go (`go`, `target`), the retry and
    forced clocks, the forced rows used up or timed out (`expired`); returns both counts.

    Rows are independent (a start changes only its own row), so each tries left, then its
    other side, as the two passes over all rows did.
    """
    started = used_up = 0
    for i in range(len(want)):
        go[i] = NONE
        direction = want[i]
        length = blend(speed[i])
        for side in (LEFT, RIGHT):  # left first; a row that cannot go left tries its alt
            if direction != side:
                continue
            neighbour = left if side == LEFT else right
            bit = LANE_CHANGE_LEFT if side == LEFT else LANE_CHANGE_RIGHT
            t = neighbour[path[i, 0]]
            ok = _feasible(
                i, t, bit, neighbour, length, path, along, valid, lane_change, in_junction
            )
            ok = ok and lead_along[i] - front_m[i] > LEAD_SHARE * length  # clear of it
            if ok:
                ok = _room(
                    i,
                    t,
                    speed,
                    front_m,
                    rear_m,
                    own,
                    pos_x,
                    pos_y,
                    fwd_x,
                    fwd_y,
                    obs_xy,
                    obs_velocity,
                    obs_front_m,
                    obs_rear_m,
                )
            if ok:
                go[i] = side
                target[i] = t
                started += 1
                break
            wait[i] = 0.0 if forced[i] else RETRY_S  # forced ones keep waiting
            if side == LEFT and alt[i] == RIGHT:
                direction = RIGHT
        expired[i] = False
        if forced[i]:
            force_s[i] = force_s[i] + dt_s
            if force_s[i] > FORCE_PATIENCE_S or go[i] != NONE:
                expired[i] = True
                force_s[i] = 0.0
                used_up += 1
        else:
            force_s[i] = 0.0
    return started, used_up


@numba.njit(cache=True, nogil=True)
def _feasible(
    i: int,
    t: int,
    bit: int,
    neighbour: IntArray,
    length: float,
    path: IntArray,
    along: FloatArray,
    valid: BoolArray,
    lane_change: IntArray,
    in_junction: BoolArray,
) -> bool:
    """The markings allow it, no junction near, the next lane runs alongside all the
    blend and the path is long enough."""
    start = path[i, 0]
    if t < 0 or (lane_change[start] & bit) <= 0:
        return False
    k_max = path.shape[1]
    longest = 0.0  # along.max(where=valid, initial=0.0): NaN wins as in np.maximum
    for k in range(k_max):
        if not valid[i, k]:
            continue
        a = along[i, k]
        if a < length + JUNCTION_MARGIN_M and in_junction[path[i, k]]:
            return False
        if a < length and neighbour[path[i, k]] < 0:
            return False
        if not (longest >= a or np.isnan(longest)):
            longest = a
    return valid[i, k_max - 1] or longest > length + PATH_PAST_BLEND_M


@numba.njit(cache=True, nogil=True)
def _room(
    i: int,
    t: int,
    speed: FloatArray,
    front_m: FloatArray,
    rear_m: FloatArray,
    own: IntArray,
    pos_x: FloatArray,
    pos_y: FloatArray,
    fwd_x: FloatArray,
    fwd_y: FloatArray,
    obs_xy: FloatArray,
    obs_velocity: FloatArray,
    obs_front_m: FloatArray,
    obs_rear_m: FloatArray,
) -> bool:
    """No obstacle but the row's own near its place in the target lane (straight frame)."""
    fx, fy = fwd_x[t], fwd_y[t]
    v_self = speed[i]
    for j in range(len(obs_xy)):
        if j == own[i]:
            continue
        rx = obs_xy[j, 0] - pos_x[t]
        ry = obs_xy[j, 1] - pos_y[t]
        lon = rx * fx + ry * fy
        lat = abs(ry * fx - rx * fy)
        v_obs = obs_velocity[j, 0] * fx + obs_velocity[j, 1] * fy
        ahead_need = front_m[i] + obs_rear_m[j] + ROOM_M + _max0(v_self - v_obs) * ROOM_CLOSING_S
        behind_need = (
            rear_m[i]
            + obs_front_m[j]
            + ROOM_M
            + _max0(v_obs) * ROOM_HEADWAY_S
            + _max0(v_obs - v_self) * ROOM_CLOSING_S
        )
        if lat < TARGET_LANE_HALF_M and lon < ahead_need and lon > -behind_need:
            return False
    return True
