"""The bicycle model's constants and its numba kernels (`vehicle_physics.py` drives them).

Kept apart from the Python that reads actors and writes poses back, so that each module
stays about one concept: this one is arithmetic over rows of arrays. Only `np.tan`,
`np.arctan` and `np.arctan2` run between kernels as numpy calls, because numpy's
vectorised versions round differently from libm's in the last bit and poses must not
change (see `vehicle_physics.py`).
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

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

_DEG_TO_RAD = np.pi / 180.0  # exactly what np.radians / np.degrees multiply by
_RAD_TO_DEG = 180.0 / np.pi
# rows of `_Rows.out`
ROW_X, ROW_Y, ROW_Z, ROW_PITCH, ROW_YAW, ROW_ROLL = range(6)
ROW_VEL, ROW_ACC, ROW_SPIN, ROW_SPEED = 6, 9, 12, 13
ROW_LATERAL, ROW_TAN, ROW_CURVATURE, ROW_BETA = 14, 15, 16, 17
OUT_ROWS = 18


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
def drive_kernel(
    data: FloatArray, cv: FloatArray, lim: FloatArray, steer: FloatArray, dt: float, out: FloatArray
) -> None:
    """Signed speed after dt, lateral speed, steering after the input rates, tan's argument.

    Longitudinal: drive and slope push, brakes and drag only ever slow down (and never
    flip the sign); a constant velocity overrides it. Steering: UE4 input interpolation,
    rising towards full lock slower than returning. Writes out[ROW_SPEED, ROW_LATERAL, ROW_TAN] and
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
        out[ROW_SPEED, i] = v1
        out[ROW_LATERAL, i] = cv[i, 1] if cv_on else 0.0
        target = _clip(data[i, 8], -1.0, 1.0)
        current = steer[i]
        rising = abs(target) > abs(current) and target * current >= 0.0
        rate = (STEER_RISE_PER_S if rising else STEER_FALL_PER_S) * dt
        steer[i] = current + _clip(target - current, -rate, rate)
        factor = _steer_factor(abs(v1) * 3.6)
        out[ROW_TAN, i] = steer[i] * lim[i, 1] * factor


@numba.njit(cache=True, nogil=True)
def curvature_kernel(out: FloatArray, lim: FloatArray) -> None:
    """Path curvature [1/m] from tan(steer angle), capped by tyre grip; arctan's argument."""
    for i in range(out.shape[1]):
        curvature = out[ROW_TAN, i] / lim[i, 0]
        v = out[ROW_SPEED, i]
        v2 = v * v
        if v2 > 1e-6:
            cap = lim[i, 7] / v2
            curvature = _clip(curvature, -cap, cap)
        out[ROW_CURVATURE, i] = curvature
        out[ROW_BETA, i] = 0.5 * lim[i, 0] * curvature


@numba.njit(cache=True, nogil=True)
def pose_kernel(
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
        v1, lateral = out[ROW_SPEED, i], out[ROW_LATERAL, i]
        curvature, beta = out[ROW_CURVATURE, i], out[ROW_BETA, i]
        pitch = pitch_deg * _DEG_TO_RAD
        still = v1 == 0.0 and v0 == 0.0 and lateral == 0.0
        v_mid = v1 if cv_on else 0.5 * (v0 + v1)
        yaw_rate = v_mid * curvature  # [rad/s]; positive steer turns right = yaw grows
        yaw0 = yaw_deg * _DEG_TO_RAD
        heading = yaw0 + 0.5 * yaw_rate * dt + beta
        yaw1 = yaw0 + yaw_rate * dt
        out[ROW_PITCH, i], out[ROW_ROLL, i] = pitch_deg, roll_deg
        follow[i] = not still or not grounded[i]
        if reverse:
            gear[i] = -1
        else:
            g = np.floor(abs(v1) / 9.0)
            g = 1.0 + (g if g < 4.0 or g != g else 4.0)
            gear[i] = np.int64(g) if abs(g) < 4e18 else np.iinfo(np.int64).min
        set_gear[i] = not still and not manual
        if still:
            out[ROW_X, i], out[ROW_Y, i], out[ROW_Z, i], out[ROW_YAW, i] = x, y, z, yaw_deg
            for k in range(ROW_VEL, ROW_SPEED + 1):
                out[k, i] = 0.0
            continue
        cos_h, sin_h, cos_p, sin_p = np.cos(heading), np.sin(heading), np.cos(pitch), np.sin(pitch)
        step_m, side_m = v_mid * dt, lateral * dt
        out[ROW_X, i] = x + step_m * cos_h * cos_p - side_m * sin_h
        out[ROW_Y, i] = y + step_m * sin_h * cos_p + side_m * cos_h
        out[ROW_Z, i] = z + step_m * sin_p
        out[ROW_YAW, i] = yaw1 * _RAD_TO_DEG
        cos_h, sin_h = np.cos(yaw1 + beta), np.sin(yaw1 + beta)
        along = v1 * cos_p
        vel = (along * cos_h - lateral * sin_h, along * sin_h + lateral * cos_h, v1 * sin_p)
        for k in range(3):
            out[ROW_VEL + k, i] = vel[k]
            out[ROW_ACC + k, i] = (vel[k] - data[i, 14 + k]) / dt
        out[ROW_SPIN, i] = yaw_rate * _RAD_TO_DEG


@numba.njit(cache=True, nogil=True)
def land_kernel(
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
        z = out[ROW_Z, i]
        height = z - ground_z[k]
        if not (index[k] >= 0 and height >= -GROUND_BELOW_M and height <= GROUND_ABOVE_M):
            continue
        falling = height > GROUND_SNAP_M and not grounded[i]
        v = vz[i] - GRAVITY_MPS2 * dt if falling else vz[i]
        settled = _maximum(ground_z[k], z + v * dt) if falling else ground_z[k]
        landed = settled <= ground_z[k]
        vz[i] = 0.0 if landed else v
        grounded[i] = grounded[i] or landed
        out[ROW_Z, i] = settled
        nx, ny, nz = normal[k, 0], normal[k, 1], normal[k, 2]
        yaw = out[ROW_YAW, i] * _DEG_TO_RAD
        cy, sy = np.cos(yaw), np.sin(yaw)
        sel[m] = i
        plane[0, m] = -(nx * cy + ny * sy)
        plane[1, m] = nz
        plane[2, m] = ny * cy - nx * sy
        m += 1
    return m


@numba.njit(cache=True, nogil=True)
def roll_kernel(sel: IntArray, pitch: FloatArray, plane: FloatArray, out: FloatArray) -> None:
    """Pitch [deg] into `out`; plane[3] = the second arctan2's x for roll (flat on the plane)."""
    for k in range(len(sel)):
        along, nz = -plane[0, k], plane[1, k]
        a = np.sin(pitch[k]) * along - nz * np.cos(pitch[k])
        plane[3, k] = -a
        out[ROW_PITCH, sel[k]] = pitch[k] * _RAD_TO_DEG
