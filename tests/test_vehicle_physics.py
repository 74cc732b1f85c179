"""The bicycle model: plausible acceleration, braking, steering sense, reverse, slopes."""

from __future__ import annotations

import math
from typing import Any

import carla
import pytest

from runner.sim.world.actors import Actor, ActorKind, VehicleState
from runner.sim.world.geometry import BoundingBox, Transform
from runner.sim.world.road_state import RoadIndex
from runner.sim.world.vehicle_physics import (
    GroundQuery,
    VehiclePhysics,
    set_target_velocity,
    vehicle_limits,
)
from tests.conftest import shared_maps_dir

MAPS = shared_maps_dir()
DT_S = 0.02
FLAT = GroundQuery(None)


def _car(yaw: float = 0.0, base_type: str = "car", pose: Transform | None = None) -> Actor:
    box = BoundingBox((0.0, 0.0, 0.74), (2.4, 1.08, 0.74))
    return Actor(
        1,
        "vehicle.tesla.model3",
        ActorKind.VEHICLE,
        {"base_type": (8, base_type)},
        pose or Transform(yaw=yaw),
        box,
        vehicle=VehicleState(),
    )


def _drive(physics: VehiclePhysics, car: Actor, seconds: float, **control: Any) -> None:
    assert car.vehicle is not None
    for name, value in control.items():
        setattr(car.vehicle.control, name, value)
    for _ in range(round(seconds / DT_S)):
        physics.step([car], DT_S)


def test_full_throttle_reaches_a_plausible_speed() -> None:
    car, physics = _car(), VehiclePhysics(FLAT)
    _drive(physics, car, 5.0, throttle=1.0)
    assert car.vehicle is not None
    assert 10.0 < car.vehicle.speed_mps < 20.0  # 0-100 km/h in roughly 8-12 s
    assert car.transform.x > 25.0 and abs(car.transform.y) < 1e-9
    assert car.velocity[0] == pytest.approx(car.vehicle.speed_mps, rel=1e-6)


def test_truck_is_slower_than_car() -> None:
    assert (
        vehicle_limits(_car(base_type="truck")).max_accel_mps2
        < vehicle_limits(_car()).max_accel_mps2
    )
    assert vehicle_limits(_car(base_type="bicycle")).top_speed_mps <= 8.0


def test_full_brake_stops_within_a_plausible_distance() -> None:
    car, physics = _car(), VehiclePhysics(FLAT)
    set_target_velocity(car, (20.0, 0.0, 0.0))
    _drive(physics, car, 5.0, brake=1.0)
    assert car.vehicle is not None and car.vehicle.speed_mps == 0.0
    assert 20.0 < car.transform.x < 30.0  # v^2 / 2a with a ~ 8 m/s^2 -> 25 m
    assert car.velocity == (0.0, 0.0, 0.0)


def test_coasting_slows_down() -> None:
    car, physics = _car(), VehiclePhysics(FLAT)
    set_target_velocity(car, (15.0, 0.0, 0.0))
    _drive(physics, car, 5.0)
    assert car.vehicle is not None and 11.0 < car.vehicle.speed_mps < 14.5


def test_positive_steer_turns_right_so_yaw_grows() -> None:
    car, physics = _car(), VehiclePhysics(FLAT)
    set_target_velocity(car, (5.0, 0.0, 0.0))
    _drive(physics, car, 2.0, steer=0.3, throttle=0.3)
    assert car.transform.yaw > 20.0
    assert car.transform.y > 0.5  # +y is to the right of +x
    assert car.angular_velocity[2] > 0.0


def test_steering_builds_up_gradually() -> None:
    car, physics = _car(), VehiclePhysics(FLAT)
    set_target_velocity(car, (5.0, 0.0, 0.0))
    _drive(physics, car, DT_S, steer=1.0)
    first = car.transform.yaw
    _drive(physics, car, 0.5)
    assert 0.0 < first < (car.transform.yaw - first) / 10.0


def test_reverse_moves_backwards() -> None:
    car, physics = _car(yaw=90.0), VehiclePhysics(FLAT)
    _drive(physics, car, 3.0, throttle=0.5, reverse=True)
    assert car.vehicle is not None and car.vehicle.speed_mps < -1.0
    assert car.transform.y < -2.0  # facing +y, moving towards -y
    assert car.vehicle.control.gear == -1


def test_hand_brake_stops() -> None:
    car, physics = _car(), VehiclePhysics(FLAT)
    set_target_velocity(car, (10.0, 0.0, 0.0))
    _drive(physics, car, 4.0, hand_brake=True, throttle=0.5)
    assert car.vehicle is not None and car.vehicle.speed_mps == 0.0
    assert car.transform.x < 15.0


def test_physics_off_and_constant_velocity() -> None:
    car, physics = _car(), VehiclePhysics(FLAT)
    car.simulate_physics = False
    _drive(physics, car, 1.0, throttle=1.0)
    assert car.transform == Transform()
    car.simulate_physics = True
    car.constant_velocity = (3.0, 0.0, 0.0)
    _drive(physics, car, 1.0, throttle=0.0, brake=1.0)
    assert car.transform.x == pytest.approx(3.0)


@pytest.fixture(scope="module")
def town04() -> Any:
    path = MAPS / "Town04.xodr"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return carla.Map("Town04", path.read_text())


def _steep_lane(carla_map: Any) -> Any:
    for wp in carla_map.generate_waypoints(5.0):
        ahead = wp.next(20.0)
        steep = not wp.is_junction and abs(wp.transform.rotation.pitch) > 3.0
        if steep and ahead and abs(ahead[0].transform.location.z - wp.transform.location.z) > 0.8:
            return wp
    pytest.skip("no sloped lane found")


def test_follows_a_sloped_road(town04: Any) -> None:
    wp = _steep_lane(town04)
    t = wp.transform
    start = Transform(t.location.x, t.location.y, t.location.z + 0.3, 0.0, t.rotation.yaw, 0.0)
    car, physics = _car(pose=start), VehiclePhysics(GroundQuery(RoadIndex(town04)))
    set_target_velocity(
        car,
        (
            6.0 * math.cos(math.radians(t.rotation.yaw)),
            6.0 * math.sin(math.radians(t.rotation.yaw)),
            0.0,
        ),
    )
    _drive(physics, car, 2.0, throttle=0.4)
    pose = car.transform
    under = town04.get_waypoint(carla.Location(pose.x, pose.y, pose.z), project_to_road=True)
    assert abs(pose.z - under.transform.location.z) < 0.15
    assert abs(pose.z - start.z) > 0.5
    road_pitch = (under.transform.rotation.pitch + 180.0) % 360.0 - 180.0
    assert pose.pitch == pytest.approx(road_pitch, abs=1.5)
