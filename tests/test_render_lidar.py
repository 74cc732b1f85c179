"""The ray-cast lidar against a real Town03 `carla.Map`: payload layout, geometry, drop-off."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from tests.conftest import shared_maps_dir

carla = pytest.importorskip("carla")

from runner.sim.render.lidar import SENSOR_LIDAR, LidarScanner  # noqa: E402
from runner.sim.render.renderer import Renderer  # noqa: E402
from runner.sim.world.actors import Actor, ActorKind  # noqa: E402
from runner.sim.world.geometry import BoundingBox, Transform  # noqa: E402

MAPS = shared_maps_dir()
CAR_BOX = BoundingBox((0.0, 0.0, 0.75), (2.3, 1.0, 0.75))
EXACT = {  # no random drop-off, no noise: every hit in range comes back
    "channels": "32",
    "range": "50",
    "points_per_second": "56000",
    "rotation_frequency": "10",
    "dropoff_general_rate": "0",
    "dropoff_zero_intensity": "0",
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    path = MAPS / "Town03.xodr"
    if not path.exists():
        pytest.skip("Town03.xodr not available")
    return Renderer(carla.Map("Town03", path.read_text()), "Town03")


@pytest.fixture(scope="module")
def rig(renderer: Renderer) -> tuple[Transform, list[Actor]]:
    """A lidar 1.8 m above a straight lane, a car 10 m ahead in the same lane."""
    carla_map = carla.Map("Town03", (MAPS / "Town03.xodr").read_text())
    for wp in carla_map.generate_waypoints(10.0):
        ahead = wp.next(10.0)
        flat = (
            abs(wp.transform.location.z) < 0.05
            and ahead
            and abs(ahead[0].transform.location.z) < 0.05
        )
        if wp.is_junction or not flat or ahead[0].is_junction or wp.lane_id != -1:
            continue
        yaw = wp.transform.rotation.yaw
        if abs((ahead[0].transform.rotation.yaw - yaw + 180) % 360 - 180) > 0.2:
            continue
        loc = wp.transform.location
        sensor = Transform(loc.x, loc.y, loc.z + 1.8, 0.0, yaw, 0.0)
        car_loc = ahead[0].transform.location
        car = Actor(
            7,
            "vehicle.audi.a2",
            ActorKind.VEHICLE,
            {},
            Transform(car_loc.x, car_loc.y, car_loc.z, 0.0, yaw, 0.0),
            CAR_BOX,
            bytes([14]),
        )
        return sensor, [car]
    raise AssertionError("no straight lane")


def _decode(payload: bytes) -> tuple[int, float, list[int], np.ndarray]:
    sensor_type, _frame, _ts, *_pose = struct.unpack_from("<QQd6f", payload)
    angle, channels = struct.unpack_from("<fI", payload, 48)
    counts = list(struct.unpack_from(f"<{channels}I", payload, 56))
    points = np.frombuffer(payload, "<f4", offset=56 + 4 * channels).reshape(-1, 4)
    assert len(points) == sum(counts)
    return sensor_type, angle, counts, points


def test_payload_and_rotation(renderer: Renderer, rig: tuple) -> None:
    sensor, actors = rig
    scanner = LidarScanner(renderer, EXACT)
    sensor_type, angle, counts, points = _decode(scanner.scan(3, 0.15, sensor, 0.05, actors))
    assert sensor_type == SENSOR_LIDAR
    assert len(counts) == 32
    # 56000 / (20 fps * 32 channels) = 87.5 -> 88 rays per laser; a step sweeps 180 degrees
    assert max(counts) <= 88 and counts[-1] == 88  # lowest laser always hits the ground
    assert angle == pytest.approx(math.pi, abs=1e-6)
    _t, angle2, _c, _p = _decode(scanner.scan(4, 0.2, sensor, 0.05, actors))
    assert angle2 == pytest.approx(0.0, abs=1e-6)
    distance = np.linalg.norm(points[:, :3], axis=1)
    assert (distance <= 50.0 + 1e-3).all()
    assert np.allclose(points[:, 3], np.exp(-0.004 * distance), atol=1e-5)


def test_points_land_on_road_and_car(renderer: Renderer, rig: tuple) -> None:
    sensor, actors = rig
    scanner = LidarScanner(renderer, EXACT)
    points = np.concatenate(
        [_decode(scanner.scan(i, 0.0, sensor, 0.05, actors))[3] for i in (0, 1)]
    )
    near_ground = points[(np.abs(points[:, 0]) < 4) & (np.abs(points[:, 1]) < 1.2)]
    assert len(near_ground) > 20
    assert np.allclose(near_ground[:, 2], -1.8, atol=0.05)  # flat lane under the sensor
    rear = 10.0 - CAR_BOX.extent[0]
    on_car = points[(np.abs(points[:, 1]) < 0.8) & (points[:, 2] > -1.5) & (points[:, 2] < -1.05)]
    on_car = on_car[(on_car[:, 0] > 0) & (on_car[:, 0] < 12)]
    assert len(on_car) > 5
    assert np.allclose(on_car[:, 0], rear, atol=0.1)  # the car's rear face


def test_default_dropoff_drops_about_the_general_rate(renderer: Renderer, rig: tuple) -> None:
    sensor, actors = rig
    exact = LidarScanner(renderer, EXACT)
    lossy = LidarScanner(renderer, {**EXACT, "dropoff_general_rate": "0.45"})
    n_exact = len(_decode(exact.scan(0, 0.0, sensor, 0.05, actors))[3])
    n_lossy = len(_decode(lossy.scan(0, 0.0, sensor, 0.05, actors))[3])
    assert 0.45 < n_lossy / n_exact < 0.65
