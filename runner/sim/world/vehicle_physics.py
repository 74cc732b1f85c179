"""Kinematic bicycle vehicles driven by `VehicleControl`, following the road surface.

The Traffic Manager's PID controllers were tuned on CARLA's PhysX cars, so the model keeps
the traits they rely on: throttle/brake map to bounded accelerations, steering reaches the
wheels through UE4's input rise/fall rates and a speed-dependent steering curve, and tyres
cap lateral acceleration. Per-vehicle work is plain scalar math (a few microseconds); the
road surface under all moving vehicles is fetched in one batched `RoadIndex` query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from runner.sim.world.actors import Actor, VehicleControl
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


@dataclass(slots=True)
class _Memo:
    limits: VehicleLimits
    steer: float = 0.0  # effective steering input after UE4 rise/fall rates
    vz_mps: float = 0.0  # vertical speed while dropping onto the road
    grounded: bool = False


class VehiclePhysics:
    """Integrates every vehicle's pose from its control; owns only per-vehicle hidden state."""

    def __init__(self, ground: GroundQuery) -> None:
        self._ground = ground
        self._memo: dict[int, _Memo] = {}

    def forget(self, actor_id: int) -> None:
        self._memo.pop(actor_id, None)

    def step(self, vehicles: Sequence[Actor], dt_s: float) -> None:
        """Advance vehicles by dt_s; pose, velocities and `speed_mps` are updated in place."""
        if dt_s <= 0.0:
            return
        moved: list[tuple[Actor, _Memo]] = []
        for actor in vehicles:
            if actor.vehicle is None:
                continue
            if not actor.simulate_physics:
                _hold(actor)
                continue
            memo = self._memo.get(actor.id)
            if memo is None:
                memo = self._memo[actor.id] = _Memo(vehicle_limits(actor))
            if _integrate(actor, memo, dt_s) or not memo.grounded:
                moved.append((actor, memo))
        self._follow_ground(moved, dt_s)

    def _follow_ground(self, moved: list[tuple[Actor, _Memo]], dt_s: float) -> None:
        if not moved:
            return
        points = np.array([a.transform.location for a, _ in moved], dtype=np.float64)
        hits = self._ground.surface(points)
        rows = zip(
            moved, hits.index.tolist(), hits.ground_z.tolist(), hits.normal.tolist(), strict=True
        )
        for (actor, memo), sample, ground_z, normal in rows:
            if sample >= 0:
                _settle(actor, memo, ground_z, normal, dt_s)


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


def _integrate(actor: Actor, memo: _Memo, dt_s: float) -> bool:
    """One bicycle step; returns whether the vehicle moved."""
    state = actor.vehicle
    assert state is not None
    control = state.control
    lim = memo.limits
    t = actor.transform
    v0 = state.speed_mps
    lateral_mps = 0.0
    if actor.constant_velocity is not None:
        v1, lateral_mps = actor.constant_velocity[0], actor.constant_velocity[1]
    else:
        v1 = _longitudinal(v0, control, lim, t.pitch, dt_s)
    memo.steer = _steer_input(memo.steer, _clamp(control.steer, -1.0, 1.0), dt_s)
    curvature = _curvature(memo.steer, v1, lim)
    if v1 == 0.0 and v0 == 0.0 and lateral_mps == 0.0:
        _rest(actor, state)
        return False
    v_mid = 0.5 * (v0 + v1) if actor.constant_velocity is None else v1
    yaw_rate = v_mid * curvature  # [rad/s]; positive steer turns right = yaw grows
    beta = math.atan(0.5 * lim.wheelbase_m * curvature)  # slip angle at the box centre
    yaw0 = math.radians(t.yaw)
    heading = yaw0 + 0.5 * yaw_rate * dt_s + beta
    cos_p = math.cos(math.radians(t.pitch))
    step_m = v_mid * dt_s
    dx = step_m * math.cos(heading) * cos_p - lateral_mps * dt_s * math.sin(heading)
    dy = step_m * math.sin(heading) * cos_p + lateral_mps * dt_s * math.cos(heading)
    dz = step_m * math.sin(math.radians(t.pitch))
    yaw1 = yaw0 + yaw_rate * dt_s
    actor.transform = Transform(t.x + dx, t.y + dy, t.z + dz, t.pitch, math.degrees(yaw1), t.roll)
    _report(actor, _velocity(v1, lateral_mps, yaw1 + beta, t.pitch), math.degrees(yaw_rate), dt_s)
    state.speed_mps = v1
    _update_gear(control, v1)
    return True


def _velocity(v_mps: float, lateral_mps: float, heading_rad: float, pitch_deg: float) -> Vec3:
    """World velocity at the end of the step (what CARLA's physics body would report)."""
    cos_h, sin_h = math.cos(heading_rad), math.sin(heading_rad)
    pitch = math.radians(pitch_deg)
    along = v_mps * math.cos(pitch)
    return (
        along * cos_h - lateral_mps * sin_h,
        along * sin_h + lateral_mps * cos_h,
        v_mps * math.sin(pitch),
    )


def _longitudinal(
    v_mps: float, c: VehicleControl, lim: VehicleLimits, pitch_deg: float, dt_s: float
) -> float:
    """Signed speed after dt_s: drive and slope push, brakes and drag only ever slow down."""
    direction = -1.0 if c.reverse else 1.0
    top = lim.reverse_top_speed_mps if c.reverse else lim.top_speed_mps
    along = max(0.0, v_mps * direction)
    throttle = _clamp(c.throttle, 0.0, 1.0)
    drive = 0.0 if c.hand_brake else direction * throttle * lim.max_accel_mps2
    drive *= max(0.0, 1.0 - along / top)
    slope = -GRAVITY_MPS2 * math.sin(math.radians(pitch_deg))
    resist = ROLLING_MPS2 + AERO_PER_M * v_mps * v_mps
    resist += _clamp(c.brake, 0.0, 1.0) * lim.max_brake_mps2
    resist += lim.hand_brake_mps2 if c.hand_brake else 0.0
    resist += ENGINE_BRAKE_MPS2 if throttle == 0.0 and abs(v_mps) > STILL_MPS else 0.0
    free = v_mps + (drive + slope) * dt_s
    if abs(free) <= resist * dt_s:
        return 0.0
    return free - math.copysign(resist * dt_s, free)


def _steer_input(current: float, target: float, dt_s: float) -> float:
    """UE4 input interpolation: rising towards full lock is slower than returning."""
    rising = abs(target) > abs(current) and target * current >= 0.0
    rate = STEER_RISE_PER_S if rising else STEER_FALL_PER_S
    delta = _clamp(target - current, -rate * dt_s, rate * dt_s)
    return current + delta


def _curvature(steer: float, v_mps: float, lim: VehicleLimits) -> float:
    """Path curvature [1/m] from steering, the speed steering curve and tyre grip."""
    kmh = abs(v_mps) * 3.6
    angle = steer * lim.max_steer_rad * _steer_factor(kmh)
    curvature = math.tan(angle) / lim.wheelbase_m
    v2 = v_mps * v_mps
    if v2 > 1e-6:
        cap = lim.max_lateral_mps2 / v2
        curvature = _clamp(curvature, -cap, cap)
    return curvature


def _steer_factor(kmh: float) -> float:
    prev_x, prev_y = STEER_CURVE[0]
    for x, y in STEER_CURVE[1:]:
        if kmh <= x:
            return prev_y + (y - prev_y) * (kmh - prev_x) / (x - prev_x)
        prev_x, prev_y = x, y
    return prev_y


def _report(actor: Actor, velocity: Vec3, yaw_rate_deg: float, dt_s: float) -> None:
    v0 = actor.velocity
    actor.acceleration = (
        (velocity[0] - v0[0]) / dt_s,
        (velocity[1] - v0[1]) / dt_s,
        (velocity[2] - v0[2]) / dt_s,
    )
    actor.velocity = velocity
    actor.angular_velocity = (0.0, 0.0, yaw_rate_deg)


def _rest(actor: Actor, state: Any) -> None:
    actor.velocity = actor.angular_velocity = actor.acceleration = (0.0, 0.0, 0.0)
    state.speed_mps = 0.0


def _update_gear(control: VehicleControl, v_mps: float) -> None:
    """What CARLA's automatic gearbox would report (left alone under manual shifting)."""
    if control.manual_gear_shift:
        return
    if control.reverse:
        control.gear = -1
    else:
        control.gear = 1 + min(4, int(abs(v_mps) / 9.0))


def _settle(actor: Actor, memo: _Memo, ground_z: float, normal: list[float], dt_s: float) -> None:
    """Put the vehicle on the road plane (dropping if spawned above it), aligned to it."""
    t = actor.transform
    height = t.z - ground_z
    if height < -GROUND_BELOW_M or height > GROUND_ABOVE_M:
        return
    z = ground_z
    if height > GROUND_SNAP_M and not memo.grounded:
        memo.vz_mps -= GRAVITY_MPS2 * dt_s
        z = max(ground_z, t.z + memo.vz_mps * dt_s)
    if z <= ground_z:
        memo.grounded, memo.vz_mps = True, 0.0
    pitch, roll = _align(normal, math.radians(t.yaw))
    actor.transform = Transform(t.x, t.y, z, pitch, t.yaw, roll)


def _align(normal: list[float], yaw_rad: float) -> tuple[float, float]:
    """Pitch and roll [deg] that put a vehicle with this yaw flat on a plane with `normal`."""
    nx, ny, nz = normal
    cy, sy = math.cos(yaw_rad), math.sin(yaw_rad)
    along = nx * cy + ny * sy
    pitch = math.atan2(-along, nz)
    across = ny * cy - nx * sy
    a = math.sin(pitch) * along - nz * math.cos(pitch)
    roll = math.atan2(across, -a)
    return math.degrees(pitch), math.degrees(roll)


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x
