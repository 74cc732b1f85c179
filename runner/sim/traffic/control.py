"""From a wanted motion to `VehicleControl` numbers, for every vehicle at once.

Speed: the Intelligent Driver Model (Treiber et al. 2000) gives an acceleration from the
wanted speed and the gap to whatever is ahead (a vehicle, a stop line, a dead end); it is
free of collisions when every vehicle brakes as it asks. Throttle and brake then invert
the world's vehicle model (`world/vehicle_physics.py`: drive force fading towards top
speed, rolling and air drag, brake deceleration), so the wanted acceleration is met in
one step instead of being chased by a PID. Steering: pure pursuit of a point on the path
(exact on arcs), turned into a steering input through the same model's steering curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from runner.sim.traffic.fleet import BoolArray, FloatArray, IntArray
from runner.sim.world.vehicle_model import (
    AERO_PER_M,
    ENGINE_BRAKE_MPS2,
    GRAVITY_MPS2,
    ROLLING_MPS2,
    STEER_CURVE,
)

COMFORT_DECEL_MPS2 = 3.0  # IDM's b
HEADWAY_S = 1.0  # IDM's T
ACCEL_CAP_MPS2 = 2.5  # IDM's a, at most (a truck's own limit is lower)
MIN_WANTED_MPS = 0.5
STANDSTILL_MPS = 0.1
LOOKAHEAD_MIN_M = 3.0
LOOKAHEAD_PER_MPS = 0.5  # pure-pursuit distance grows with speed (0.5 s ahead)

_CURVE_KMH = np.array([p[0] for p in STEER_CURVE])
_CURVE_FACTOR = np.array([p[1] for p in STEER_CURVE])


@dataclass(frozen=True, slots=True)
class Controls:
    throttle: FloatArray
    brake: FloatArray
    steer: FloatArray


def idm_accel(
    speed: FloatArray,
    wanted: FloatArray,
    gap_m: FloatArray,
    lead_speed: FloatArray,
    min_gap_m: FloatArray,
    max_accel: FloatArray,
) -> FloatArray:
    """IDM acceleration [m/s^2]; gap_m = inf where nothing is ahead."""
    v = np.maximum(speed, 0.0)
    a = np.minimum(max_accel, ACCEL_CAP_MPS2)
    v0 = np.maximum(wanted, MIN_WANTED_MPS)
    dv = v - lead_speed
    s_star = min_gap_m + np.maximum(
        0.0, v * HEADWAY_S + v * dv / (2.0 * np.sqrt(a * COMFORT_DECEL_MPS2))
    )
    free = 1.0 - (v / v0) ** 4
    gap = np.maximum(gap_m, 0.05)
    interaction = np.where(np.isfinite(gap_m), (s_star / gap) ** 2, 0.0)
    return a * (free - interaction)


def pedals(
    accel: FloatArray,
    speed: FloatArray,
    pitch_rad: FloatArray,
    max_accel: FloatArray,
    max_brake: FloatArray,
    top_speed: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Throttle and brake in [0, 1] that give `accel` in the world's vehicle model."""
    v = np.maximum(speed, 0.0)
    slope = -GRAVITY_MPS2 * np.sin(pitch_rad)
    drag = ROLLING_MPS2 + AERO_PER_M * v * v
    drive = max_accel * np.maximum(1.0 - v / top_speed, 0.05)
    throttle = (accel + drag - slope) / drive
    coast = drag + np.where(v > 0.05, ENGINE_BRAKE_MPS2, 0.0) - slope
    brake = (-accel - coast) / max_brake
    throttle = np.clip(throttle, 0.0, 1.0)
    brake = np.where(throttle > 0.0, 0.0, np.clip(brake, 0.0, 1.0))
    hold = (v < STANDSTILL_MPS) & (accel <= 0.0)
    return np.where(hold, 0.0, throttle), np.where(hold, 1.0, brake)


def lookahead_m(speed: FloatArray) -> FloatArray:
    return LOOKAHEAD_MIN_M + LOOKAHEAD_PER_MPS * np.maximum(speed, 0.0)


def pursuit_targets(
    along: FloatArray, valid: BoolArray, points: FloatArray, length: IntArray, reach_m: FloatArray
) -> FloatArray:
    """(N, 2): each row's first valid path point at least `reach_m` ahead, else its last."""
    target = np.empty((len(along), 2))
    if len(along):
        _pursuit_kernel(along, valid, points, length, reach_m, target)
    return target


@numba.njit(cache=True, nogil=True)
def _pursuit_kernel(
    along: FloatArray,
    valid: BoolArray,
    points: FloatArray,
    length: IntArray,
    reach_m: FloatArray,
    target: FloatArray,
) -> None:
    n, k_max = along.shape
    for r in range(n):
        pick = length[r] - 1
        for k in range(k_max):
            if valid[r, k] and along[r, k] >= reach_m[r]:
                pick = k
                break
        target[r, 0] = points[r, pick, 0]
        target[r, 1] = points[r, pick, 1]


def steer_to(
    xy: FloatArray,
    heading_rad: FloatArray,
    target: FloatArray,
    speed: FloatArray,
    wheelbase_m: FloatArray,
    max_steer_rad: FloatArray,
) -> FloatArray:
    """Pure pursuit: the steering input whose arc passes through `target` (N, 2)."""
    d = target - xy
    fwd = np.stack([np.cos(heading_rad), np.sin(heading_rad)], axis=1)
    right = np.stack([-fwd[:, 1], fwd[:, 0]], axis=1)
    ahead = np.einsum("ij,ij->i", d, fwd)
    lateral = np.einsum("ij,ij->i", d, right)
    dist2 = np.maximum(ahead * ahead + lateral * lateral, 1e-6)
    curvature = 2.0 * lateral / dist2
    angle = np.arctan(curvature * wheelbase_m)
    factor = np.interp(np.abs(speed) * 3.6, _CURVE_KMH, _CURVE_FACTOR)
    return np.clip(angle / (max_steer_rad * factor), -1.0, 1.0)
