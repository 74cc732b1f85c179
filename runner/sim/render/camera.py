"""Pinhole camera maths shared by the renderer, lidar and tests, and the image payload.

CARLA's camera: x forward, y right, z up; f = W / (2 tan(fov/2)); principal point
exactly (W/2, H/2); a point lands in pixel column floor(u) with u = f*y/x + W/2.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from runner.sim.world.geometry import Transform

NEAR_M = 0.1
FAR_M = 1000.0
DEPTH_CODES = 16777215  # 2^24 - 1

SENSOR_DEPTH = 1
SENSOR_RGB = 13
SENSOR_SEMANTIC = 14
SENSOR_INSTANCE = 15

_HEADER = struct.Struct("<QQd6f")
_IMAGE_HEADER = struct.Struct("<IIf")


@dataclass(frozen=True)
class Pinhole:
    """Intrinsics of one camera image."""

    width: int
    height: int
    fov_deg: float

    @property
    def focal_px(self) -> float:
        return self.width / (2.0 * math.tan(math.radians(self.fov_deg) / 2.0))

    def matrix(self) -> NDArray[np.float64]:
        """K = [[f, 0, W/2], [0, f, H/2], [0, 0, 1]] in OpenCV convention."""
        f = self.focal_px
        return np.array([[f, 0.0, self.width / 2], [0.0, f, self.height / 2], [0.0, 0.0, 1.0]])

    def project(self, cam_points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Camera-space (N, 3) UE points → (N, 2) continuous pixel coordinates (u, v)."""
        f = self.focal_px
        x, y, z = cam_points[:, 0], cam_points[:, 1], cam_points[:, 2]
        return np.stack([f * y / x + self.width / 2, -f * z / x + self.height / 2], axis=1)

    def clip_uniform(self) -> tuple[float, float, float, float]:
        """(2f/W, 2f/H, A, B): clip = (sx*y, -sy*z, A*x + B, x) puts pixel i at [i, i+1)."""
        f = self.focal_px
        a = (FAR_M + NEAR_M) / (FAR_M - NEAR_M)
        b = -2.0 * FAR_M * NEAR_M / (FAR_M - NEAR_M)
        return (2.0 * f / self.width, 2.0 * f / self.height, a, b)


def world_to_camera(transform: Transform) -> NDArray[np.float64]:
    """4x4 inverse of the camera's world matrix (UE axes on both sides)."""
    m = transform.matrix()
    inv = np.eye(4)
    rot_t = m[:3, :3].T
    inv[:3, :3] = rot_t
    inv[:3, 3] = -rot_t @ m[:3, 3]
    return inv


def to_camera(transform: Transform, world_points: NDArray[np.float64]) -> NDArray[np.float64]:
    m = world_to_camera(transform)
    return np.asarray(world_points @ m[:3, :3].T + m[:3, 3])


def encode_depth(depth_m: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Planar depth [m] → BGRA bytes as CARLA's depth camera writes them."""
    n = np.clip(np.rint(depth_m / FAR_M * DEPTH_CODES), 0, DEPTH_CODES).astype(np.uint32)
    out = np.empty((*depth_m.shape, 4), dtype=np.uint8)
    out[..., 0] = (n >> 16) & 255
    out[..., 1] = (n >> 8) & 255
    out[..., 2] = n & 255
    out[..., 3] = 255
    return out


def decode_depth_m(bgra: NDArray[np.uint8]) -> NDArray[np.float64]:
    """BGRA depth image → planar depth [m]: 1000 * (R + 256 G + 65536 B) / (2^24 - 1)."""
    b, g, r = (bgra[..., i].astype(np.float64) for i in range(3))
    return (r + 256.0 * g + 65536.0 * b) / DEPTH_CODES * FAR_M


def image_payload(
    sensor_type: int,
    frame: int,
    timestamp: float,
    transform: Transform,
    fov_deg: float,
    bgra: NDArray[np.uint8],
) -> bytes:
    """48-byte sensor header + (u32 w, u32 h, f32 fov) + BGRA pixels, rows top to bottom."""
    height, width = bgra.shape[:2]
    t = transform
    header = _HEADER.pack(sensor_type, frame, timestamp, t.x, t.y, t.z, t.pitch, t.yaw, t.roll)
    pixels = np.ascontiguousarray(bgra, dtype=np.uint8)
    return b"".join((header, _IMAGE_HEADER.pack(width, height, fov_deg), pixels.data))
