"""Sensor payloads decoded the way the client reads them: struct header + msgpack body."""

from __future__ import annotations

import math
import struct
from typing import Any

import msgpack
import pytest

from runner.sim.sensors import (
    SENSOR_HEADER,
    GnssNoise,
    GnssSensor,
    ImuNoise,
    ImuSensor,
    SensorType,
    collision_payload,
    sensor_header,
    world_hit_record,
)
from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.geometry import Transform

TOWN01_GEO = (49.0, 8.0, 0.0)
DT_S = 0.05


def split(payload: bytes) -> tuple[tuple[Any, ...], Any]:
    """Header fields and the decoded msgpack body; the body must be exactly one object."""
    header = SENSOR_HEADER.unpack_from(payload)
    body = msgpack.unpackb(payload[SENSOR_HEADER.size :], raw=False)
    return header, body


def test_header_is_48_packed_little_endian_bytes() -> None:
    tf = Transform(1.5, -2.0, 3.25, 10.0, 20.0, 30.0)
    raw = sensor_header(SensorType.RGB_CAMERA, 42, 1.25, tf)
    assert len(raw) == 48
    assert struct.unpack("<QQd6f", raw) == (13, 42, 1.25, 1.5, -2.0, 3.25, 10.0, 20.0, 30.0)


def test_registry_indices_follow_the_client() -> None:
    assert (SensorType.COLLISION, SensorType.GNSS, SensorType.IMU) == (0, 4, 5)
    assert (SensorType.LIDAR, SensorType.RGB_CAMERA, SensorType.WORLD_OBSERVER) == (11, 13, 17)
    assert len(SensorType) == 22


# -- GNSS ------------------------------------------------------------------------------


def test_gnss_at_the_map_origin_reads_the_geo_reference() -> None:
    header, body = split(GnssSensor(TOWN01_GEO).measure(7, 0.35, Transform()))
    assert header[:3] == (SensorType.GNSS, 7, 0.35)
    assert body == pytest.approx([49.0, 8.0, 0.0], abs=1e-9)


def test_gnss_one_kilometre_north_is_minus_y() -> None:
    sensor = GnssSensor(TOWN01_GEO)
    _, (lat, lon, alt) = split(sensor.measure(1, 0.0, Transform(y=-1000.0, z=12.0)))
    assert lat - 49.0 == pytest.approx(0.008983, abs=1e-5)
    assert lon == pytest.approx(8.0, abs=1e-9)
    assert alt == pytest.approx(12.0)


def test_gnss_east_is_plus_x_and_values_are_float64() -> None:
    payload = GnssSensor(TOWN01_GEO).measure(1, 0.0, Transform(x=1000.0))
    _, (lat, lon, _) = split(payload)
    assert lon - 8.0 == pytest.approx(0.008983 / math.cos(math.radians(49.0)), rel=1e-3)
    assert lat == pytest.approx(49.0, abs=1e-6)
    assert payload[48] == 0x93 and payload[49] == 0xCB  # fixarray(3), float64


def test_gnss_noise_is_bias_plus_seeded_gaussian() -> None:
    noise = GnssNoise(lat_bias_deg=0.5, lat_stddev_deg=0.1, alt_stddev_m=2.0, seed=3)

    def reading(sensor_noise: GnssNoise) -> list[float]:
        body: list[float] = split(
            GnssSensor(TOWN01_GEO, sensor_noise).measure(1, 0.0, Transform())
        )[1]
        return body

    first = reading(noise)
    assert reading(noise) == first  # same seed, same sequence
    assert first[0] != pytest.approx(49.5, abs=1e-12)  # noise was drawn
    assert first[0] == pytest.approx(49.5, abs=0.6)  # around the bias
    assert first[1] == 8.0  # no longitude noise configured
    assert reading(GnssNoise(lat_bias_deg=0.5, lat_stddev_deg=0.1, seed=4))[0] != first[0]


def test_gnss_noise_comes_from_the_blueprint_attributes() -> None:
    actor = Actor(
        id=5,
        type_id="sensor.other.gnss",
        kind=ActorKind.SENSOR,
        attributes={"noise_lon_bias": (3, "0.25"), "noise_seed": (2, "9")},
        transform=Transform(),
    )
    _, (_, lon, _) = split(GnssSensor.from_actor(actor, TOWN01_GEO).measure(1, 0.0, Transform()))
    assert lon == pytest.approx(8.25)


# -- IMU -------------------------------------------------------------------------------


def test_imu_at_rest_reads_gravity_up_and_compass_east() -> None:
    sensor = ImuSensor()
    for step in range(4):
        header, body = split(sensor.measure(step, step * DT_S, Transform()))
    accel, gyro, compass = body
    assert header[0] == SensorType.IMU
    assert accel == pytest.approx([0.0, 0.0, 9.81])
    assert gyro == pytest.approx([0.0, 0.0, 0.0])
    assert isinstance(compass, float)
    assert compass == pytest.approx(math.pi / 2)


@pytest.mark.parametrize(
    ("yaw_deg", "expected_rad"),
    [(0.0, math.pi / 2), (90.0, math.pi), (180.0, 3 * math.pi / 2), (-90.0, 0.0), (270.0, 0.0)],
)
def test_imu_compass_is_yaw_plus_90(yaw_deg: float, expected_rad: float) -> None:
    _, (_, _, compass) = split(ImuSensor().measure(0, 0.0, Transform(yaw=yaw_deg)))
    assert 0.0 <= compass < 2 * math.pi
    assert compass == pytest.approx(expected_rad, abs=1e-6)


def test_imu_constant_acceleration_reads_after_three_steps() -> None:
    sensor = ImuSensor()
    readings = []
    for step in range(3):
        t = step * DT_S
        readings.append(split(sensor.measure(step, t, Transform(x=0.5 * 2.0 * t * t)))[1][0])
    assert readings[-1] == pytest.approx([2.0, 0.0, 9.81])


def test_imu_acceleration_is_in_the_sensor_frame() -> None:
    sensor = ImuSensor()
    for step in range(3):
        t = step * DT_S
        body = split(sensor.measure(step, t, Transform(x=t * t, yaw=90.0)))[1]
    # world +X acceleration, sensor facing +Y: it points to the sensor's left (-Y)
    assert body[0] == pytest.approx([0.0, -2.0, 9.81], abs=1e-9)


def test_imu_follows_the_world_gravity_setting() -> None:
    sensor = ImuSensor()
    _, body = split(sensor.measure(0, 0.0, Transform(), gravity_mps2=1.62))
    assert body[0] == pytest.approx([0.0, 0.0, 1.62])


def test_imu_pitched_up_sees_gravity_along_its_forward_axis() -> None:
    _, body = split(ImuSensor().measure(0, 0.0, Transform(pitch=90.0)))
    assert body[0] == pytest.approx([9.81, 0.0, 0.0], abs=1e-9)


def test_imu_gyroscope_is_parent_angular_velocity_in_rad_s() -> None:
    sensor = ImuSensor(ImuNoise(gyro_bias_rad_s=(0.0, 0.0, 0.5)))
    _, body = split(sensor.measure(0, 0.0, Transform(), angular_velocity_deg_s=(0.0, 0.0, 90.0)))
    assert body[1] == pytest.approx([0.0, 0.0, math.pi / 2 + 0.5])


def test_imu_noise_is_deterministic_per_seed() -> None:
    noise = ImuNoise(accel_stddev_mps2=(0.1, 0.1, 0.1), gyro_stddev_rad_s=(0.01, 0.0, 0.0))
    a, b = ImuSensor(noise), ImuSensor(noise)
    bodies_a = [split(a.measure(i, i * DT_S, Transform()))[1] for i in range(3)]
    bodies_b = [split(b.measure(i, i * DT_S, Transform()))[1] for i in range(3)]
    assert bodies_a == bodies_b
    assert bodies_a[0][0] != bodies_a[1][0]


def test_imu_body_is_float64_throughout() -> None:
    body = ImuSensor().measure(0, 0.0, Transform())[SENSOR_HEADER.size :]
    # [[f64 x3], [f64 x3], f64]: 3 + 2 * (1 + 3 * 9) + 9 bytes, no ints or float32s
    assert body[0] == 0x93 and len(body) == 1 + 2 * (1 + 3 * 9) + 9


# -- collision -------------------------------------------------------------------------


def vehicle_record(actor_id: int, type_id: str) -> list[Any]:
    """An `Actor` record as `runner.sim.protocol.codec.actor_record` builds it."""
    box = [[0.0, 0.0, 0.7], [2.3, 1.0, 0.7], [0.0, 0.0, 0.0], actor_id]
    description = [0, type_id, [["role_name", 4, "hero"]]]
    return [actor_id, 0, description, box, bytes([14]), b""]


def test_collision_payload_layout() -> None:
    me, other = vehicle_record(24, "vehicle.tesla.model3"), vehicle_record(31, "vehicle.audi.tt")
    tf = Transform(10.0, 5.0, 1.0, 0.0, 90.0, 0.0)
    header, body = split(collision_payload(12, 0.6, tf, me, other, (1.5, -2.0, 0.0)))
    assert header == (0, 12, pytest.approx(0.6), 10.0, 5.0, 1.0, 0.0, 90.0, 0.0)
    assert body[0] == me and body[1] == other
    assert body[2] == [1.5, -2.0, 0.0]
    assert isinstance(body[0][4], bytes) and isinstance(body[0][5], bytes)  # bin, not str


def test_collision_with_static_geometry_uses_id_zero_static_record() -> None:
    me = vehicle_record(24, "vehicle.tesla.model3")
    wall = world_hit_record("building", bytes([3]))
    _, body = split(collision_payload(1, 0.0, Transform(), me, wall, (0.0, 0.0, 0.0)))
    other = body[1]
    assert other[0] == 0 and other[1] == 0
    assert other[2][1] == "static.building"
    assert other[4] == bytes([3]) and other[5] == b""
