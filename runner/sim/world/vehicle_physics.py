"""Kinematic bicycle vehicles driven by `VehicleControl`, following the road surface.

The Traffic Manager's PID controllers were tuned on CARLA's PhysX cars, so the model keeps
the traits they rely on: throttle/brake map to bounded accelerations, steering reaches the
wheels through UE4's input rise/fall rates and a speed-dependent steering curve, and tyres
cap lateral acceleration. All vehicles advance together in numpy arrays (one row per
vehicle; Python only reads controls and writes poses back), and the road surface under
all moving vehicles is fetched in one batched `RoadIndex` query. The arithmetic runs in
numba kernels (as ~60 small numpy stages it cost more than the Python around it); only
`np.tan` and `np.arctan` stay numpy calls between kernels, because numpy's vectorised
versions round differently from libm's in the last bit and poses must not change.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Any, cast

import numba
import numpy as np
from numpy.typing import NDArray

from runner.sim.world.actors import Actor
from runner.sim.world.geometry import Transform, Vec3
from runner.sim.world.road_state import RoadHits, RoadIndex

GRAVITY_MPS2 = 9.81
ROLLING_MPS2 = 0.12  # rolling resistance
ENGINE_BRAKE_MPS2 = 0.35  # in gear, throttle released
AERO_PER_M = 2.5e-4  # drag deceleration = AERO_PER_M * v^2
STEER_RISE_PER_S = 2.5  # UE4 WheeledVehicle SteeringInputRate defaults
STEER_FALL_PER_S = 5.0
STEER_CURVE = ((0.0, 1.0), (20.0, 0.9), (60.0, 0.8), (120.0, 0.7))  # (km/h, factor)
STILL_MPS = 0.05
GROUND_SNAP_M = 0.05
GROUND_BELOW_M = 1.0  # ground more than this above the origin is not "under" it
GROUND_ABOVE_M = 3.0  # nor ground this far below (then the vehicle keeps its height)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class VehicleLimits:
    """Per-blueprint dynamics, derived from base_type and the bounding box."""

    wheelbase_m: float
    max_steer_rad: float
    max_accel_mps2: float
    max_brake_mps2: float
    top_speed_mps: float
    reverse_top_speed_mps: float
    hand_brake_mps2: float
    max_lateral_mps2: float


_BASE = {  # accel, brake, top speed, reverse top, hand brake, lateral, steer [deg]
    "car": (3.5, 8.0, 50.0, 8.0, 5.0, 8.5, 70.0),
    "van": (2.5, 7.0, 40.0, 6.0, 4.5, 7.0, 60.0),
    "truck": (1.5, 6.0, 30.0, 5.0, 4.0, 5.5, 55.0),
    "bus": (1.2, 5.5, 25.0, 4.0, 4.0, 5.0, 55.0),
    "motorcycle": (4.5, 8.0, 50.0, 2.0, 5.0, 8.0, 45.0),
    "bicycle": (1.5, 5.0, 8.0, 1.5, 4.0, 5.0, 45.0),
}


def vehicle_limits(actor: Actor) -> VehicleLimits:
    """Plausible limits for a vehicle actor (CARLA's come from its PhysX asset)."""
    length_m = 2.0 * actor.bounding_box.extent[0]
    kind = actor.attribute("base_type").lower()
    if kind not in _BASE:
        kind = "bus" if length_m > 9.0 else "truck" if length_m > 6.0 else "car"
    accel, brake, top, rev, hand, lateral, steer_deg = _BASE[kind]
    wheelbase = max(0.8, 0.6 * length_m) if length_m > 0.0 else 2.8
    return VehicleLimits(wheelbase, math.radians(steer_deg), accel, brake, top, rev, hand, lateral)


class GroundQuery:
    """Road surface under points: z and normal of the lane plane (CARLA origin = ground)."""

    def __init__(self, index: RoadIndex | None) -> None:
        self.index = index

    @classmethod
    def from_map(cls, carla_map: Any) -> GroundQuery:
        return cls(RoadIndex(carla_map))

    def surface(self, points: np.ndarray) -> RoadHits:
        if self.index is None:
            n = len(points)
            normal = np.tile(np.array([0.0, 0.0, 1.0]), (n, 1))
            return RoadHits(np.full(n, -1, dtype=np.int64), points[:, 2].copy(), normal)
        return self.index.query(points)


class _Rows:
    """Hidden per-vehicle state as arrays, rebuilt only when the set of vehicles changes."""

    LIMITS = (
        "wheelbase_m",
        "max_steer_rad",
        "max_accel_mps2",
        "max_brake_mps2",
        "top_speed_mps",
        "reverse_top_speed_mps",
        "hand_brake_mps2",
        "max_lateral_mps2",
    )

    def __init__(
        self, actors: Sequence[Actor], saved: dict[int, tuple[float, float, bool]]
    ) -> None:
        self.ids = [a.id for a in actors]
        lims = [vehicle_limits(a) for a in actors]
        n = len(actors)
        # (N, 8) in LIMITS order: what the kernels read
        self.limits = np.array(
            [[getattr(x, name) for name in self.LIMITS] for x in lims], dtype=np.float64
        ).reshape(n, len(self.LIMITS))
        self.no_cv = np.zeros((n, 2))  # constant velocity (forward, lateral) when none is set
        self.out = np.zeros((_OUT_ROWS, n))  # kernel outputs, one row per quantity
        self.gear = np.zeros(n, dtype=np.int64)
        self.follow = np.zeros(n, dtype=bool)
        self.set_gear = np.zeros(n, dtype=bool)
        state = [saved.get(i, (0.0, 0.0, False)) for i in self.ids]
        self.steer = np.array([x[0] for x in state], dtype=np.float64)  # after rise/fall rates
        self.vz = np.array([x[1] for x in state], dtype=np.float64)  # dropping onto the road
        self.grounded = np.array([x[2] for x in state], dtype=bool)

    def save(self, into: dict[int, tuple[float, float, bool]]) -> None:
        for i, steer, vz, grounded in zip(
            self.ids, self.steer.tolist(), self.vz.tolist(), self.grounded.tolist(), strict=True
        ):
            into[i] = (steer, vz, grounded)


class VehiclePhysics:
    """Integrates every vehicle's pose from its control; owns only per-vehicle hidden state."""

    def __init__(self, ground: GroundQuery) -> None:
        self._ground = ground
        self._saved: dict[int, tuple[float, float, bool]] = {}
        self._rows: _Rows | None = None

    def forget(self, actor_id: int) -> None:
        if self._rows is not None and actor_id in self._rows.ids:
            self._rows.save(self._saved)
            self._rows = None
        self._saved.pop(actor_id, None)

    def _rows_for(self, actors: list[Actor]) -> _Rows:
        rows = self._rows
        if rows is None or rows.ids != [a.id for a in actors]:
            if rows is not None:
                rows.save(self._saved)
            rows = self._rows = _Rows(actors, self._saved)
        return rows

    def step(self, vehicles: Sequence[Actor], dt_s: float) -> None:
        """Advance vehicles by dt_s; pose, velocities and `speed_mps` are updated in place."""
        if dt_s <= 0.0:
            return
        active: list[Actor] = []
        for actor in vehicles:
            if actor.vehicle is None:
                continue
            if actor.simulate_physics:
                active.append(actor)
            else:
                _hold(actor)
        if active:
            _advance(active, self._rows_for(active), self._ground, dt_s)


def set_target_velocity(actor: Actor, velocity: Vec3) -> None:
    """`set_target_velocity`: a one-off velocity the bicycle keeps along its heading."""
    state = actor.vehicle
    fwd = actor.transform.forward()
    actor.velocity = velocity
    if state is not None:
        state.speed_mps = velocity[0] * fwd[0] + velocity[1] * fwd[1] + velocity[2] * fwd[2]


def _hold(actor: Actor) -> None:
    """Physics off: the pose only changes through set_transform; nothing moves by itself."""
    actor.velocity = actor.angular_velocity = actor.acceleration = (0.0, 0.0, 0.0)
    assert actor.vehicle is not None
    actor.vehicle.speed_mps = 0.0


_ZERO: Vec3 = (0.0, 0.0, 0.0)
_COLUMNS = 17  # what `_read` returns per vehicle
_DEG_TO_RAD = np.pi / 180.0  # exactly what np.radians / np.degrees multiply by
_RAD_TO_DEG = 180.0 / np.pi
# rows of `_Rows.out`
_X, _Y, _Z, _PITCH, _YAW, _ROLL = range(6)
_VEL, _ACC, _SPIN, _SPEED = 6, 9, 12, 13
_LATERAL, _TAN, _CURVATURE, _BETA = 14, 15, 16, 17
_OUT_ROWS = 18


def _read(a: Actor) -> tuple[float, ...]:
    t, state = a.transform, a.vehicle
    assert state is not None
    c, v = state.control, a.velocity
    return (
        t.x,
        t.y,
        t.z,
        t.pitch,
        t.yaw,
        t.roll,
        state.speed_mps,
        c.throttle,
        c.steer,
        c.brake,
        c.hand_brake,
        c.reverse,
        c.manual_gear_shift,
        a.constant_velocity is not None,
        v[0],
        v[1],
        v[2],
    )


def _advance(actors: list[Actor], rows: _Rows, ground: GroundQuery, dt_s: float) -> None:
    """One bicycle step for every row, then the road surface under those that moved."""
    n = len(actors)
    read = itertools.chain.from_iterable(map(_read, actors))  # fromiter: 2x np.array
    data = np.fromiter(read, np.float64, n * _COLUMNS).reshape(n, _COLUMNS)
    cv = rows.no_cv
    if data[:, 13].any():
        cv = np.zeros((n, 2))
        for k in np.flatnonzero(data[:, 13]).tolist():
            fixed = actors[k].constant_velocity
            assert fixed is not None
            cv[k] = fixed[0], fixed[1]
    out, lim = rows.out, rows.limits
    _drive_kernel(data, cv, lim, rows.steer, dt_s, out)
    np.tan(out[_TAN], out=out[_TAN])  # numpy's, not libm's: see the module docstring
    _curvature_kernel(out, lim)
    np.arctan(out[_BETA], out=out[_BETA])  # slip angle at the box centre
    _pose_kernel(data, out, rows.grounded, dt_s, rows.gear, rows.follow, rows.set_gear)
    follow = rows.follow
    if follow.any():
        _settle(ground, rows, np.flatnonzero(follow), dt_s)
    _write(actors, rows)


def _write(actors: list[Actor], rows: _Rows) -> None:
    """Poses of rows that moved; velocities, speed (zero for still rows) and gears.

    Column-wise with C-level zips: a per-actor loop building tuples cost about as much as
    all the arithmetic. Still rows come out of `_pose_kernel` with zeros.
    """
    out = rows.out
    follow = rows.follow
    if follow.all():
        poses = _transforms([out[k].tolist() for k in range(6)])
        for actor, pose in zip(actors, poses, strict=True):
            actor.transform = pose
    elif follow.any():
        poses = _transforms([out[k, follow].tolist() for k in range(6)])
        for actor, pose in zip(compress(actors, follow.tolist()), poses, strict=True):
            actor.transform = pose
    vel = zip(*(out[k].tolist() for k in range(_VEL, _VEL + 3)), strict=True)
    acc = zip(*(out[k].tolist() for k in range(_ACC, _ACC + 3)), strict=True)
    spin = zip(repeat(0.0), repeat(0.0), out[_SPIN].tolist())
    for actor, v, a, w, speed in zip(actors, vel, acc, spin, out[_SPEED].tolist(), strict=True):
        state = actor.vehicle
        assert state is not None
        actor.velocity = v
        actor.acceleration = a
        actor.angular_velocity = w
        state.speed_mps = speed
    set_gear = rows.set_gear
    shifted = zip(compress(actors, set_gear.tolist()), rows.gear[set_gear].tolist(), strict=True)
    for actor, gear in shifted:
        state = actor.vehicle
        assert state is not None
        state.control.gear = gear


_TRANSFORM_FIELDS = ("x", "y", "z", "pitch", "yaw", "roll")
_TRANSFORM_SLOTS = tuple(getattr(Transform, name).__set__ for name in _TRANSFORM_FIELDS)


def _transforms(columns: list[list[float]]) -> list[Transform]:
    """`[Transform(*row) for row in zip(*columns)]`, about twice as fast.

    The frozen dataclass's __init__ sets each field through object.__setattr__ (~1 µs a
    pose, 0.2 ms at 200 cars); filling the slots through their descriptors in C-level maps
    builds the same immutable objects. Valid while Transform is a plain slots dataclass of
    these fields without __post_init__ (tests/test_vehicle_physics_kernel.py checks).
    """
    poses = cast(list[Transform], list(map(object.__new__, repeat(Transform, len(columns[0])))))
    for fill, column in zip(_TRANSFORM_SLOTS, columns, strict=True):
        deque(map(fill, poses, column), maxlen=0)
    return poses


_CURVE_KMH = np.array([p[0] for p in STEER_CURVE])
_CURVE_FACTOR = np.array([p[1] for p in STEER_CURVE])


@numba.njit(cache=True, nogil=True)
def _clip(x: float, lo: float, hi: float) -> float:
    """np.clip of one float: NaN stays NaN, else max with lo, then min with hi."""
    if x != x:
        return x
    y = x if x > lo else lo
    return y if y < hi else hi


@numba.njit(cache=True, nogil=True)
def _maximum(a: float, b: float) -> float:
    """np.maximum of two floats (NaN wins)."""
    if a != a or b != b:
        return a + b
    return a if a >= b else b


@numba.njit(cache=True, nogil=True)
def _steer_factor(kmh: float) -> float:
    """np.interp(kmh, _CURVE_KMH, _CURVE_FACTOR), numpy's formula and its end rules."""
    xp, fp = _CURVE_KMH, _CURVE_FACTOR
    last = len(xp) - 1
    if kmh != kmh:
        return kmh
    if kmh < xp[0]:
        return fp[0]
    if kmh >= xp[last]:
        return fp[last]
    j = 0
    while xp[j + 1] <= kmh:
        j += 1
    if xp[j] == kmh:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    return slope * (kmh - xp[j]) + fp[j]


@numba.njit(cache=True, nogil=True)
def _drive_kernel(
    data: FloatArray, cv: FloatArray, lim: FloatArray, steer: FloatArray, dt: float, out: FloatArray
) -> None:
    """Signed speed after dt, lateral speed, steering after the input rates, tan's argument.

    Longitudinal: drive and slope push, brakes and drag only ever slow down (and never
    flip the sign); a constant velocity overrides it. Steering: UE4 input interpolation,
    rising towards full lock slower than returning. Writes out[_SPEED, _LATERAL, _TAN] and
    `steer` in place; operation order as in the former numpy code, for identical rounding.
    """
    for i in range(len(data)):
        v = data[i, 6]
        hand, reverse, cv_on = data[i, 10] > 0.5, data[i, 11] > 0.5, data[i, 13] > 0.5
        direction = -1.0 if reverse else 1.0
        top = lim[i, 5] if reverse else lim[i, 4]
        along = _maximum(0.0, v * direction)
        throttle = _clip(data[i, 7], 0.0, 1.0)
        drive = 0.0 if hand else direction * throttle * lim[i, 2]
        drive = drive * _maximum(0.0, 1.0 - along / top)
        slope = -GRAVITY_MPS2 * np.sin(data[i, 3] * _DEG_TO_RAD)
        resist = ROLLING_MPS2 + AERO_PER_M * v * v
        resist = resist + _clip(data[i, 9], 0.0, 1.0) * lim[i, 3]
        resist = resist + (lim[i, 6] if hand else 0.0)
        resist = resist + (ENGINE_BRAKE_MPS2 if throttle == 0.0 and abs(v) > STILL_MPS else 0.0)
        free = v + (drive + slope) * dt
        v1 = 0.0 if abs(free) <= resist * dt else free - np.copysign(resist * dt, free)
        if cv_on:
            v1 = cv[i, 0]
        out[_SPEED, i] = v1
        out[_LATERAL, i] = cv[i, 1] if cv_on else 0.0
        target = _clip(data[i, 8], -1.0, 1.0)
        current = steer[i]
        rising = abs(target) > abs(current) and target * current >= 0.0
        rate = (STEER_RISE_PER_S if rising else STEER_FALL_PER_S) * dt
        steer[i] = current + _clip(target - current, -rate, rate)
        factor = _steer_factor(abs(v1) * 3.6)
        out[_TAN, i] = steer[i] * lim[i, 1] * factor


@numba.njit(cache=True, nogil=True)
def _curvature_kernel(out: FloatArray, lim: FloatArray) -> None:
    """Path curvature [1/m] from tan(steer angle), capped by tyre grip; arctan's argument."""
    for i in range(out.shape[1]):
        curvature = out[_TAN, i] / lim[i, 0]
        v = out[_SPEED, i]
        v2 = v * v
        if v2 > 1e-6:
            cap = lim[i, 7] / v2
            curvature = _clip(curvature, -cap, cap)
        out[_CURVATURE, i] = curvature
        out[_BETA, i] = 0.5 * lim[i, 0] * curvature


@numba.njit(cache=True, nogil=True)
def _pose_kernel(
    data: FloatArray,
    out: FloatArray,
    grounded: BoolArray,
    dt: float,
    gear: IntArray,
    follow: BoolArray,
    set_gear: BoolArray,
) -> None:
    """Pose, world velocity, acceleration, spin and gear at the end of the step.

    Rows standing still keep their pose and get zero velocities and speed; rows that
    moved or are still dropping onto the road are marked in `follow` for `_settle`.
    """
    for i in range(len(data)):
        x, y, z, pitch_deg, yaw_deg, roll_deg, v0 = data[i, 0:7]
        cv_on, reverse, manual = data[i, 13] > 0.5, data[i, 11] > 0.5, data[i, 12] > 0.5
        v1, lateral = out[_SPEED, i], out[_LATERAL, i]
        curvature, beta = out[_CURVATURE, i], out[_BETA, i]
        pitch = pitch_deg * _DEG_TO_RAD
        still = v1 == 0.0 and v0 == 0.0 and lateral == 0.0
        v_mid = v1 if cv_on else 0.5 * (v0 + v1)
        yaw_rate = v_mid * curvature  # [rad/s]; positive steer turns right = yaw grows
        yaw0 = yaw_deg * _DEG_TO_RAD
        heading = yaw0 + 0.5 * yaw_rate * dt + beta
        yaw1 = yaw0 + yaw_rate * dt
        out[_PITCH, i], out[_ROLL, i] = pitch_deg, roll_deg
        follow[i] = not still or not grounded[i]
        if reverse:
            gear[i] = -1
        else:
            g = np.floor(abs(v1) / 9.0)
            g = 1.0 + (g if g < 4.0 or g != g else 4.0)
            gear[i] = np.int64(g) if abs(g) < 4e18 else np.iinfo(np.int64).min
        set_gear[i] = not still and not manual
        if still:
            out[_X, i], out[_Y, i], out[_Z, i], out[_YAW, i] = x, y, z, yaw_deg
            for k in range(_VEL, _SPEED + 1):
                out[k, i] = 0.0
            continue
        cos_h, sin_h, cos_p, sin_p = np.cos(heading), np.sin(heading), np.cos(pitch), np.sin(pitch)
        step_m, side_m = v_mid * dt, lateral * dt
        out[_X, i] = x + step_m * cos_h * cos_p - side_m * sin_h
        out[_Y, i] = y + step_m * sin_h * cos_p + side_m * cos_h
        out[_Z, i] = z + step_m * sin_p
        out[_YAW, i] = yaw1 * _RAD_TO_DEG
        cos_h, sin_h = np.cos(yaw1 + beta), np.sin(yaw1 + beta)
        along = v1 * cos_p
        vel = (along * cos_h - lateral * sin_h, along * sin_h + lateral * cos_h, v1 * sin_p)
        for k in range(3):
            out[_VEL + k, i] = vel[k]
            out[_ACC + k, i] = (vel[k] - data[i, 14 + k]) / dt
        out[_SPIN, i] = yaw_rate * _RAD_TO_DEG


def _settle(ground: GroundQuery, rows: _Rows, idx: IntArray, dt_s: float) -> None:
    """Put vehicles `idx` on the road plane (dropping if spawned above it), aligned to it.

    Writes z, pitch and roll of those rows of `rows.out` in place; rows off the road, or
    with the road far above or below them, keep their pose. The two arctan2 are numpy's
    (see the module docstring), the rest two small kernels.
    """
    out = rows.out
    hits = ground.surface(np.ascontiguousarray(out[_X : _Z + 1, idx].T))
    sel = np.empty(len(idx), dtype=np.int64)
    plane = np.empty((4, len(idx)))
    m = _land_kernel(
        idx,
        np.ascontiguousarray(hits.index, dtype=np.int64),
        np.ascontiguousarray(hits.ground_z, dtype=np.float64),
        np.ascontiguousarray(hits.normal, dtype=np.float64),
        rows.vz,
        rows.grounded,
        out,
        dt_s,
        sel,
        plane,
    )
    if m == 0:
        return
    sel, plane = sel[:m], plane[:, :m]
    pitch = np.arctan2(plane[0], plane[1])
    _roll_kernel(sel, pitch, plane, out)
    out[_ROLL, sel] = np.degrees(np.arctan2(plane[2], plane[3]))


@numba.njit(cache=True, nogil=True)
def _land_kernel(
    idx: IntArray,
    index: IntArray,
    ground_z: FloatArray,
    normal: FloatArray,
    vz: FloatArray,
    grounded: BoolArray,
    out: FloatArray,
    dt: float,
    sel: IntArray,
    plane: FloatArray,
) -> int:
    """Drop or snap rows `idx` onto their road plane; returns how many are on one.

    Those rows go to sel[:m]; plane[:, :m] gets (-along, up, across, -) of the plane
    normal in the vehicle's heading frame, for pitch = arctan2(-along, up).
    """
    m = 0
    for k in range(len(idx)):
        i = idx[k]
        z = out[_Z, i]
        height = z - ground_z[k]
        if not (index[k] >= 0 and height >= -GROUND_BELOW_M and height <= GROUND_ABOVE_M):
            continue
        falling = height > GROUND_SNAP_M and not grounded[i]
        v = vz[i] - GRAVITY_MPS2 * dt if falling else vz[i]
        settled = _maximum(ground_z[k], z + v * dt) if falling else ground_z[k]
        landed = settled <= ground_z[k]
        vz[i] = 0.0 if landed else v
        grounded[i] = grounded[i] or landed
        out[_Z, i] = settled
        nx, ny, nz = normal[k, 0], normal[k, 1], normal[k, 2]
        yaw = out[_YAW, i] * _DEG_TO_RAD
        cy, sy = np.cos(yaw), np.sin(yaw)
        sel[m] = i
        plane[0, m] = -(nx * cy + ny * sy)
        plane[1, m] = nz
        plane[2, m] = ny * cy - nx * sy
        m += 1
    return m


@numba.njit(cache=True, nogil=True)
def _roll_kernel(sel: IntArray, pitch: FloatArray, plane: FloatArray, out: FloatArray) -> None:
    """Pitch [deg] into `out`; plane[3] = the second arctan2's x for roll (flat on the plane)."""
    for k in range(len(sel)):
        along, nz = -plane[0, k], plane[1, k]
        a = np.sin(pitch[k]) * along - nz * np.cos(pitch[k])
        plane[3, k] = -a
        out[_PITCH, sel[k]] = pitch[k] * _RAD_TO_DEG
