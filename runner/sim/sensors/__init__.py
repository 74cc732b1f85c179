"""Server-side sensor data: the stream payloads of GNSS, IMU and collision sensors.

Each sensor turns world state into the exact bytes the carla client deserializes
(a 48-byte header and a msgpack body); streaming them is the protocol's job.
"""

from runner.sim.sensors.collision import collision_payload, world_hit_record
from runner.sim.sensors.gnss import GeoReference, GnssNoise, GnssSensor, geolocation
from runner.sim.sensors.header import SENSOR_HEADER, sensor_header
from runner.sim.sensors.imu import (
    DEFAULT_IMU_GRAVITY_MPS2,
    ImuNoise,
    ImuReading,
    ImuSensor,
    compass_rad,
)
from runner.sim.sensors.registry import BLUEPRINT_SENSOR_TYPES, SILENT_SENSOR_TYPES, SensorType

__all__ = [
    "BLUEPRINT_SENSOR_TYPES",
    "DEFAULT_IMU_GRAVITY_MPS2",
    "SENSOR_HEADER",
    "SILENT_SENSOR_TYPES",
    "GeoReference",
    "GnssNoise",
    "GnssSensor",
    "ImuNoise",
    "ImuReading",
    "ImuSensor",
    "SensorType",
    "collision_payload",
    "compass_rad",
    "geolocation",
    "sensor_header",
    "world_hit_record",
]
