"""CARLA's geometry conventions as plain data: left-handed axes, degrees, metres.

Everything in the embedded simulator (physics, rendering, sensors, protocol) meets
through these types, so the rotation convention lives in exactly one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Vec3 = tuple[float, float, float]
Matrix = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Transform:
    """A world or relative pose: location [m] and rotation [deg] as CARLA orders them."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0

    @property
    def location(self) -> Vec3:
        return (self.x, self.y, self.z)

    def rotation_matrix(self) -> Matrix:
        """R with columns forward, right, up (as `carla.Transform.get_matrix()`)."""
        return rotation_matrix(self.pitch, self.yaw, self.roll)

    def matrix(self) -> Matrix:
        m = np.eye(4)
        m[:3, :3] = self.rotation_matrix()
        m[:3, 3] = (self.x, self.y, self.z)
        return m

    def forward(self) -> Vec3:
        cp, sp = math.cos(math.radians(self.pitch)), math.sin(math.radians(self.pitch))
        cy, sy = math.cos(math.radians(self.yaw)), math.sin(math.radians(self.yaw))
        return (cp * cy, cp * sy, sp)

    def compose(self, child: Transform) -> Transform:
        """World pose of `child`, given relative to this pose (rigid attachment)."""
        return from_matrix(self.matrix() @ child.matrix())

    def transform_point(self, p: Vec3) -> Vec3:
        v = self.rotation_matrix() @ np.asarray(p, dtype=np.float64)
        return (float(v[0] + self.x), float(v[1] + self.y), float(v[2] + self.z))


def rotation_matrix(pitch_deg: float, yaw_deg: float, roll_deg: float) -> Matrix:
    """CARLA's rotation matrix (carla-world.md section 1)."""
    p, y, r = (math.radians(a) for a in (pitch_deg, yaw_deg, roll_deg))
    cp, sp, cy, sy, cr, sr = (
        math.cos(p),
        math.sin(p),
        math.cos(y),
        math.sin(y),
        math.cos(r),
        math.sin(r),
    )
    return np.array(
        [
            [cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr],
            [cp * sy, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr],
            [sp, -cp * sr, cp * cr],
        ]
    )


def from_matrix(m: Matrix) -> Transform:
    """Inverse of `Transform.matrix()`: recover pitch, yaw, roll in degrees."""
    r = m[:3, :3]
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, float(r[2, 0])))))
    yaw = math.degrees(math.atan2(float(r[1, 0]), float(r[0, 0])))
    roll = math.degrees(math.atan2(-float(r[2, 1]), float(r[2, 2])))
    return Transform(float(m[0, 3]), float(m[1, 3]), float(m[2, 3]), pitch, yaw, roll)


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Box relative to its actor's origin: centre and half sizes [m]."""

    center: Vec3 = (0.0, 0.0, 0.0)
    extent: Vec3 = (0.0, 0.0, 0.0)


def normalize_yaw(yaw_deg: float) -> float:
    """Yaw in (-180, 180]."""
    y = math.fmod(yaw_deg + 180.0, 360.0)
    if y <= 0.0:
        y += 360.0
    return y - 180.0
