"""IMU sensor: accelerometer, gyroscope and compass in the sensor's own frame.

As in CARLA 0.9.16 (carla-sensors.md 9) the accelerometer is not read from physics:
it differentiates the sensor's world position twice over its last three samples, adds
the IMU gravity (`world.set_imui_sensor_gravity`) on world +Z, and rotates the result
into the sensor frame, so a sensor at rest reads about (0, 0, 9.81). The sensor
therefore keeps its last samples between steps.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

import msgpack
import numpy as np

from runner.sim.sensors.header import sensor_header
from runner.sim.sensors.registry import SensorType
from runner.sim.world.actors import Actor
from runner.sim.world.geometry import Transform, Vec3

DEFAULT_IMU_GRAVITY_MPS2 = 9.81
_SAMPLES = 3  # positions needed for a second derivative


@dataclass(frozen=True, slots=True)
class ImuNoise:
    """Per-axis noise from the blueprint's `noise_*` attributes (sensor frame)."""

    accel_stddev_mps2: Vec3 = (0.0, 0.0, 0.0)
    gyro_stddev_rad_s: Vec3 = (0.0, 0.0, 0.0)
    gyro_bias_rad_s: Vec3 = (0.0, 0.0, 0.0)
    seed: int = 0

    @staticmethod
    def from_actor(actor: Actor) -> ImuNoise:
        def axes(prefix: str) -> Vec3:
            x, y, z = (float(actor.attribute(f"{prefix}_{a}", "0")) for a in "xyz")
            return (x, y, z)

        return ImuNoise(
            accel_stddev_mps2=axes("noise_accel_stddev"),
            gyro_stddev_rad_s=axes("noise_gyro_stddev"),
            gyro_bias_rad_s=axes("noise_gyro_bias"),
            seed=int(actor.attribute("noise_seed", "0")),
        )


@dataclass(frozen=True, slots=True)
class ImuReading:
    accelerometer_mps2: Vec3
    gyroscope_rad_s: Vec3
    compass_rad: float


def second_derivative(samples: list[tuple[float, Vec3]]) -> Vec3:
    """Acceleration [m/s^2] from three (time [s], position [m]) samples, oldest first.

    The three-point formula for unevenly spaced times; exact for constant acceleration.
    """
    (t0, p0), (t1, p1), (t2, p2) = samples
    h_old, h_new = t1 - t0, t2 - t1
    span = h_old + h_new
    x, y, z = (
        2.0 * (c2 / (h_new * span) - c1 / (h_old * h_new) + c0 / (h_old * span))
        for c0, c1, c2 in zip(p0, p1, p2, strict=True)
    )
    return (x, y, z)


def to_sensor_frame(transform: Transform, world_vector: Vec3) -> Vec3:
    """A world-frame vector expressed on the sensor's forward, right and up axes."""
    x, y, z = (float(v) for v in transform.rotation_matrix().T @ np.asarray(world_vector))
    return (x, y, z)


def compass_rad(transform: Transform) -> float:
    """Heading of the sensor's forward axis from north (-Y), clockwise, in [0, 2*pi).

    For a level sensor this is radians((yaw + 90) mod 360): yaw 0 faces east (+X).
    """
    forward_x, forward_y, _ = transform.forward()
    heading = math.atan2(forward_x, -forward_y)
    if heading < 0.0:
        heading += 2.0 * math.pi
    return 0.0 if heading >= 2.0 * math.pi else heading  # -1e-17 + 2*pi rounds to 2*pi


class ImuSensor:
    """One `sensor.other.imu`; remembers its last positions, noise fixed by `noise.seed`."""

    def __init__(self, noise: ImuNoise | None = None) -> None:
        self.noise = noise or ImuNoise()
        self._rng = random.Random(self.noise.seed)
        self._samples: deque[tuple[float, Vec3]] = deque(maxlen=_SAMPLES)

    @classmethod
    def from_actor(cls, actor: Actor) -> ImuSensor:
        return cls(ImuNoise.from_actor(actor))

    def read(
        self,
        timestamp: float,
        transform: Transform,
        angular_velocity_deg_s: Vec3 = (0.0, 0.0, 0.0),
        gravity_mps2: float = DEFAULT_IMU_GRAVITY_MPS2,
    ) -> ImuReading:
        """One reading; `angular_velocity_deg_s` is the parent's, in the world frame."""
        self._remember(timestamp, transform.location)
        ax, ay, az = self._world_acceleration()
        accel = to_sensor_frame(transform, (ax, ay, az + gravity_mps2))
        wx, wy, wz = (math.radians(w) for w in angular_velocity_deg_s)
        omega = to_sensor_frame(transform, (wx, wy, wz))
        n = self.noise
        accel = _plus(accel, tuple(self._rng.gauss(0.0, s) for s in n.accel_stddev_mps2))
        gyro = _plus(omega, tuple(self._rng.gauss(b, s) for b, s in _pairs(n)))
        return ImuReading(accel, gyro, compass_rad(transform))

    def measure(
        self,
        frame: int,
        timestamp: float,
        transform: Transform,
        angular_velocity_deg_s: Vec3 = (0.0, 0.0, 0.0),
        gravity_mps2: float = DEFAULT_IMU_GRAVITY_MPS2,
    ) -> bytes:
        """Stream payload: header + msgpack [[ax, ay, az], [gx, gy, gz], compass].

        All values are float64 (the client's float converters accept it) and the
        compass is one float, as the 0.9.16 client requires.
        """
        r = self.read(timestamp, transform, angular_velocity_deg_s, gravity_mps2)
        body = [
            [float(v) for v in r.accelerometer_mps2],
            [float(v) for v in r.gyroscope_rad_s],
            float(r.compass_rad),
        ]
        packed: bytes = msgpack.packb(body, use_single_float=False)
        return sensor_header(SensorType.IMU, frame, timestamp, transform) + packed

    def _remember(self, timestamp: float, location: Vec3) -> None:
        """Keep samples with strictly growing times; time going back means a new episode."""
        if self._samples and timestamp < self._samples[-1][0]:
            self._samples.clear()
        elif self._samples and timestamp == self._samples[-1][0]:
            self._samples.pop()
        self._samples.append((timestamp, location))

    def _world_acceleration(self) -> Vec3:
        """Zero until three samples exist: before that there is nothing to differentiate."""
        if len(self._samples) < _SAMPLES:
            return (0.0, 0.0, 0.0)
        return second_derivative(list(self._samples))


def _pairs(noise: ImuNoise) -> zip[tuple[float, float]]:
    return zip(noise.gyro_bias_rad_s, noise.gyro_stddev_rad_s, strict=True)


def _plus(a: Vec3, b: tuple[float, ...]) -> Vec3:
    x, y, z = (u + v for u, v in zip(a, b, strict=True))
    return (x, y, z)
