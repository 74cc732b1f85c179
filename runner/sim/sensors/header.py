"""The 48-byte header in front of every stream payload (carla-protocol.md 7.1)."""

from __future__ import annotations

import struct

from runner.sim.world.geometry import Transform

# u64 sensor_type, u64 frame, f64 timestamp [s], f32 x, y, z [m], pitch, yaw, roll [deg]
SENSOR_HEADER = struct.Struct("<QQd6f")


def sensor_header(sensor_type: int, frame: int, timestamp: float, transform: Transform) -> bytes:
    """Header bytes; `timestamp` is simulation seconds, `transform` the sensor's world pose."""
    t = transform
    return SENSOR_HEADER.pack(sensor_type, frame, timestamp, t.x, t.y, t.z, t.pitch, t.yaw, t.roll)
