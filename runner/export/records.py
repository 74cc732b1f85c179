"""LiDAR point files and measurement lines: carla data made plain in the main thread.

`lidar_points(m)` copies a `carla.LidarMeasurement` into an (N, 4) float32 array
(x, y, z in the sensor frame [m], UE axes; intensity), written per frame as `.npy`
or binary little-endian `.ply`. GNSS, IMU and collision data become one JSON line
each, with the frame number and simulation time, in `measurements/<sensor>.jsonl`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from runner.export.images import encode_npy


def lidar_points(measurement: Any) -> NDArray[np.float32]:
    """(N, 4) x, y, z, intensity — a copy, so the measurement may be released."""
    return np.frombuffer(measurement.raw_data, dtype=np.float32).reshape(-1, 4).copy()


def encode_ply(points: NDArray[np.float32]) -> bytes:
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        "comment carla-scenario-runner lidar: sensor frame, UE axes (x fwd, y right, z up), m\n"
        f"element vertex {len(points)}\n"
        "property float x\nproperty float y\nproperty float z\nproperty float intensity\n"
        "end_header\n"
    )
    return header.encode("ascii") + np.ascontiguousarray(points, dtype="<f4").tobytes()


def encode_points(points: NDArray[np.float32], fmt: str) -> bytes:
    return encode_ply(points) if fmt == "ply" else encode_npy(points)


def read_ply(data: bytes) -> NDArray[np.float32]:
    """The points of a PLY file written by `encode_ply`."""
    end = data.index(b"end_header\n") + len(b"end_header\n")
    return np.frombuffer(data[end:], dtype="<f4").reshape(-1, 4)


def _vec(v: Any) -> list[float]:
    return [float(v.x), float(v.y), float(v.z)]


def measurement_record(datum: Any, frame: int, sim_time_s: float) -> dict[str, Any]:
    """A GNSS or IMU measurement as a JSON-ready dict."""
    record: dict[str, Any] = {"frame": frame, "sim_time_s": sim_time_s}
    if hasattr(datum, "latitude"):
        record.update(
            latitude=float(datum.latitude),
            longitude=float(datum.longitude),
            altitude=float(datum.altitude),
        )
    elif hasattr(datum, "accelerometer"):
        record.update(
            accelerometer=_vec(datum.accelerometer),
            gyroscope=_vec(datum.gyroscope),
            compass=float(datum.compass),
        )
    return record


def collision_record(event: Any, frame: int, sim_time_s: float) -> dict[str, Any]:
    """A carla.CollisionEvent; `frame` is the event's own (it may precede the capture)."""
    other = event.other_actor
    return {
        "frame": int(getattr(event, "frame", frame)),
        "captured_frame": frame,
        "sim_time_s": float(getattr(event, "timestamp", sim_time_s)),
        "other_actor_id": None if other is None else int(other.id),
        "other_type_id": None if other is None else str(other.type_id),
        "normal_impulse": _vec(event.normal_impulse),
    }
