"""Kinematic bicycle vehicles driven by `VehicleControl`, following the road surface.

The Traffic Manager's PID controllers were tuned on CARLA's PhysX cars, so the model keeps
the traits they rely on: throttle/brake map to bounded accelerations, steering reaches the
wheels through UE4's input rise/fall rates and a speed-dependent steering curve, and tyres
cap lateral acceleration. All vehicles advance together in numpy arrays (one row per
vehicle; Python only reads controls and writes poses back), and the road surface under
all moving vehicles is fetched in one batched `RoadIndex` query.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
        self.lim = {
            name: np.array([getattr(x, name) for x in lims], dtype=np.float64)
            for name in self.LIMITS
        }
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
        if (
            rows is None
            or len(rows.ids) != len(actors)
            or any(i != a.id for i, a in zip(rows.ids, actors, strict=True))
        ):
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
_COLUMNS = 19  # what `_read` returns per vehicle


def _read(a: Actor) -> tuple[float, ...]:
    t, state = a.transform, a.vehicle
    assert state is not None
    c, cv, v = state.control, a.constant_velocity, a.velocity
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
        cv is not None,
        cv[0] if cv is not None else 0.0,
        cv[1] if cv is not None else 0.0,
        v[0],
        v[1],
        v[2],
    )


def _advance(actors: list[Actor], rows: _Rows, ground: GroundQuery, dt_s: float) -> None:
    """One bicycle step for every row, then the road surface under those that moved."""
    read = itertools.chain.from_iterable(_read(a) for a in actors)  # fromiter: 2x np.array
    data = np.fromiter(read, np.float64, len(actors) * _COLUMNS).reshape(len(actors), _COLUMNS)
    x, y, z, pitch_deg, yaw_deg, roll_deg, v0 = (data[:, k] for k in range(7))
    throttle, steer_in, brake = data[:, 7], data[:, 8], data[:, 9]
    hand, reverse, manual, cv_on = (data[:, k] > 0.5 for k in (10, 11, 12, 13))
    lim = rows.lim
    pitch = np.radians(pitch_deg)
    v1 = _longitudinal(v0, throttle, brake, hand, reverse, pitch, lim, dt_s)
    v1 = np.where(cv_on, data[:, 14], v1)
    lateral = np.where(cv_on, data[:, 15], 0.0)
    rows.steer = _steer_input(rows.steer, np.clip(steer_in, -1.0, 1.0), dt_s)
    curvature = _curvature(rows.steer, v1, lim)
    rest = (v1 == 0.0) & (v0 == 0.0) & (lateral == 0.0)
    v_mid = np.where(cv_on, v1, 0.5 * (v0 + v1))
    yaw_rate = v_mid * curvature  # [rad/s]; positive steer turns right = yaw grows
    beta = np.arctan(0.5 * lim["wheelbase_m"] * curvature)  # slip angle at the box centre
    yaw0 = np.radians(yaw_deg)
    heading = yaw0 + 0.5 * yaw_rate * dt_s + beta
    cos_h, sin_h, cos_p = np.cos(heading), np.sin(heading), np.cos(pitch)
    step_m, side_m = v_mid * dt_s, lateral * dt_s
    x1 = np.where(rest, x, x + step_m * cos_h * cos_p - side_m * sin_h)
    y1 = np.where(rest, y, y + step_m * sin_h * cos_p + side_m * cos_h)
    z1 = np.where(rest, z, z + step_m * np.sin(pitch))
    yaw1 = yaw0 + yaw_rate * dt_s
    yaw1_deg = np.where(rest, yaw_deg, np.degrees(yaw1))
    vel = _velocity(v1, lateral, yaw1 + beta, pitch)
    accel = (vel - data[:, 16:19]) / dt_s
    spin = np.degrees(yaw_rate)
    pitch1, roll1 = pitch_deg.copy(), roll_deg.copy()
    follow = ~rest | ~rows.grounded
    if follow.any():
        _settle(ground, rows, np.flatnonzero(follow), x1, y1, z1, yaw1_deg, pitch1, roll1, dt_s)
    gear = np.where(reverse, -1, 1 + np.minimum(4, np.floor(np.abs(v1) / 9.0))).astype(np.int64)
    columns = (x1, y1, z1, pitch1, yaw1_deg, roll1, vel, accel, spin, v1, gear)
    values = zip(*(c.tolist() for c in columns), strict=True)
    flags = zip(rest.tolist(), follow.tolist(), manual.tolist(), strict=True)
    for actor, (still, moved, manual_gear), (px, py, pz, pp, pyaw, pr, v, acc, w, s, g) in zip(
        actors, flags, values, strict=True
    ):
        state = actor.vehicle
        assert state is not None
        if moved:
            actor.transform = Transform(px, py, pz, pp, pyaw, pr)
        if still:
            actor.velocity = actor.angular_velocity = actor.acceleration = _ZERO
            state.speed_mps = 0.0
            continue
        actor.acceleration = tuple(acc)  # 3 floats
        actor.velocity = tuple(v)
        actor.angular_velocity = (0.0, 0.0, w)
        state.speed_mps = s
        if not manual_gear:
            state.control.gear = g


def _longitudinal(
    v: FloatArray,
    throttle_in: FloatArray,
    brake: FloatArray,
    hand: BoolArray,
    reverse: BoolArray,
    pitch_rad: FloatArray,
    lim: dict[str, FloatArray],
    dt_s: float,
) -> FloatArray:
    """Signed speed after dt_s: drive and slope push, brakes and drag only ever slow down."""
    direction = np.where(reverse, -1.0, 1.0)
    top = np.where(reverse, lim["reverse_top_speed_mps"], lim["top_speed_mps"])
    along = np.maximum(0.0, v * direction)
    throttle = np.clip(throttle_in, 0.0, 1.0)
    drive = np.where(hand, 0.0, direction * throttle * lim["max_accel_mps2"])
    drive = drive * np.maximum(0.0, 1.0 - along / top)
    slope = -GRAVITY_MPS2 * np.sin(pitch_rad)
    resist = ROLLING_MPS2 + AERO_PER_M * v * v
    resist = resist + np.clip(brake, 0.0, 1.0) * lim["max_brake_mps2"]
    resist = resist + np.where(hand, lim["hand_brake_mps2"], 0.0)
    resist = resist + np.where((throttle == 0.0) & (np.abs(v) > STILL_MPS), ENGINE_BRAKE_MPS2, 0.0)
    free = v + (drive + slope) * dt_s
    return np.where(np.abs(free) <= resist * dt_s, 0.0, free - np.copysign(resist * dt_s, free))


def _steer_input(current: FloatArray, target: FloatArray, dt_s: float) -> FloatArray:
    """UE4 input interpolation: rising towards full lock is slower than returning."""
    rising = (np.abs(target) > np.abs(current)) & (target * current >= 0.0)
    rate = np.where(rising, STEER_RISE_PER_S, STEER_FALL_PER_S) * dt_s
    return current + np.clip(target - current, -rate, rate)


_CURVE_KMH = np.array([p[0] for p in STEER_CURVE])
_CURVE_FACTOR = np.array([p[1] for p in STEER_CURVE])


def _curvature(steer: FloatArray, v_mps: FloatArray, lim: dict[str, FloatArray]) -> FloatArray:
    """Path curvature [1/m] from steering, the speed steering curve and tyre grip."""
    factor = np.interp(np.abs(v_mps) * 3.6, _CURVE_KMH, _CURVE_FACTOR)
    curvature = np.tan(steer * lim["max_steer_rad"] * factor) / lim["wheelbase_m"]
    v2 = v_mps * v_mps
    moving = v2 > 1e-6
    cap = lim["max_lateral_mps2"] / np.where(moving, v2, 1.0)
    return np.where(moving, np.clip(curvature, -cap, cap), curvature)


def _velocity(
    v_mps: FloatArray, lateral_mps: FloatArray, heading_rad: FloatArray, pitch_rad: FloatArray
) -> FloatArray:
    """(N, 3) world velocity at the end of the step (what CARLA's physics body reports)."""
    cos_h, sin_h = np.cos(heading_rad), np.sin(heading_rad)
    along = v_mps * np.cos(pitch_rad)
    return np.stack(
        [
            along * cos_h - lateral_mps * sin_h,
            along * sin_h + lateral_mps * cos_h,
            v_mps * np.sin(pitch_rad),
        ],
        axis=1,
    )


def _settle(
    ground: GroundQuery,
    rows: _Rows,
    idx: IntArray,
    x: FloatArray,
    y: FloatArray,
    z: FloatArray,
    yaw_deg: FloatArray,
    pitch_deg: FloatArray,
    roll_deg: FloatArray,
    dt_s: float,
) -> None:
    """Put vehicles `idx` on the road plane (dropping if spawned above it), aligned to it.

    Writes z, pitch and roll of those rows in place; rows off the road, or with the road
    far above or below them, keep their pose.
    """
    hits = ground.surface(np.stack([x[idx], y[idx], z[idx]], axis=1))
    height = z[idx] - hits.ground_z
    ok = (hits.index >= 0) & (height >= -GROUND_BELOW_M) & (height <= GROUND_ABOVE_M)
    idx, height, ground_z, normal = idx[ok], height[ok], hits.ground_z[ok], hits.normal[ok]
    falling = (height > GROUND_SNAP_M) & ~rows.grounded[idx]
    vz = np.where(falling, rows.vz[idx] - GRAVITY_MPS2 * dt_s, rows.vz[idx])
    settled = np.where(falling, np.maximum(ground_z, z[idx] + vz * dt_s), ground_z)
    landed = settled <= ground_z
    rows.vz[idx] = np.where(landed, 0.0, vz)
    rows.grounded[idx] |= landed
    z[idx] = settled
    pitch_deg[idx], roll_deg[idx] = _align(normal, np.radians(yaw_deg[idx]))


def _align(normal: FloatArray, yaw_rad: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Pitch and roll [deg] that put vehicles with this yaw flat on planes with `normal`."""
    nx, ny, nz = normal[:, 0], normal[:, 1], normal[:, 2]
    cy, sy = np.cos(yaw_rad), np.sin(yaw_rad)
    along = nx * cy + ny * sy
    pitch = np.arctan2(-along, nz)
    across = ny * cy - nx * sy
    a = np.sin(pitch) * along - nz * np.cos(pitch)
    roll = np.arctan2(across, -a)
    return np.degrees(pitch), np.degrees(roll)
