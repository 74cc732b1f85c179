"""set_route, set_path and update_vehicle_lights change what TM vehicles do (issue 8).

Real carla client against the embedded server on GridTown; helpers from
tests/test_tm_behaviour.py.
"""

from __future__ import annotations

import carla
import pytest

from runner.sim.process import EmbeddedServer
from tests.test_tm_behaviour import Scene, spawn_on_straight

LOW_BEAM = int(carla.VehicleLightState.LowBeam)
POSITION = int(carla.VehicleLightState.Position)
BRAKE = int(carla.VehicleLightState.Brake)
LEFT_BLINKER = int(carla.VehicleLightState.LeftBlinker)


def _turns(scene: Scene, car: carla.Vehicle, ticks: int) -> list[str]:
    """The turn taken at every junction crossed, from the yaw in and out of it."""
    turns, yaw_in, inside = [], 0.0, False
    for _ in range(ticks):
        scene.tick()
        here = scene.road.get_waypoint(car.get_location()).is_junction
        yaw = car.get_transform().rotation.yaw
        if here and not inside:
            yaw_in = yaw
        if inside and not here:
            change = (yaw - yaw_in + 180.0) % 360.0 - 180.0
            turns.append("Right" if change > 45 else "Left" if change < -45 else "Straight")
        inside = here
    return turns


def _before_a_choice(road: carla.Map) -> carla.Transform:
    """A spawn point whose lane meets a junction with a right turn and a straight on."""
    for point in road.get_spawn_points():
        wp = road.get_waypoint(point.location)
        for d in range(10, 80, 5):
            options = wp.next(float(d))
            if len(options) > 1:
                turns = set()
                for o in options:
                    exit_yaw = o.next(25.0)[0].transform.rotation.yaw
                    change = (exit_yaw - wp.transform.rotation.yaw + 180.0) % 360.0 - 180.0
                    turns.add("Right" if change > 45 else "Left" if change < -45 else "Straight")
                if {"Right", "Straight"} <= turns:
                    return point
                break
    raise AssertionError("no spawn point before a right/straight choice")


@pytest.mark.timeout(120)
def test_set_route_picks_the_turns_given(server: EmbeddedServer, client: carla.Client) -> None:
    taken = []
    for route in (["Right", "Straight"], ["Straight", "Straight"]):
        with Scene(client) as scene:
            car = scene.autopilot(_before_a_choice(scene.road))
            scene.tm.set_desired_speed(car, 40.0)
            scene.tm.ignore_lights_percentage(car, 100.0)  # no waiting at red: more junctions
            scene.tm.set_route(car, route)
            taken.append((route, _turns(scene, car, 300)))
    for route, turns in taken:
        assert turns and turns[0] == route[0], (route, turns)


@pytest.mark.timeout(120)
def test_set_path_drives_through_the_given_locations(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        point = _before_a_choice(scene.road)
        wp = scene.road.get_waypoint(point.location)
        first = wp.next(70.0)[-1]  # beyond the next junction, on the last of its exits
        second = first.next(80.0)[0]
        targets = [first.transform.location, second.transform.location]
        car = scene.autopilot(point)
        scene.tm.set_desired_speed(car, 40.0)
        scene.tm.ignore_lights_percentage(car, 100.0)
        scene.tm.set_path(car, targets)
        nearest = [float("inf")] * len(targets)
        for _ in range(400):
            scene.tick()
            here = car.get_location()
            nearest = [min(n, here.distance(t)) for n, t in zip(nearest, targets, strict=True)]
    assert max(nearest) < 2.5, nearest


@pytest.mark.timeout(120)
def test_update_vehicle_lights_sets_beams_brakes_and_blinkers(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        weather = scene.world.get_weather()
        night = carla.WeatherParameters(sun_altitude_angle=-30.0)
        point, left = spawn_on_straight(scene.road, "left", ahead_m=70.0)
        scene.parked(left.next(45.0)[0].transform)  # in the lane it will change into
        lit = scene.autopilot(point)
        dark = scene.autopilot(spawn_on_straight(scene.road, "left", 70.0, skip=3)[0])
        scene.tm.update_vehicle_lights(lit, True)
        scene.tm.auto_lane_change(lit, False)
        try:
            scene.tick(10)
            day = int(lit.get_light_state())
            scene.tm.force_lane_change(lit, True)
            blink = 0
            for _ in range(60):
                scene.tick()
                blink |= int(lit.get_light_state())
            scene.world.set_weather(night)
            scene.tick(200)
            stopped = int(lit.get_light_state())
            untouched = int(dark.get_light_state())
        finally:
            scene.world.set_weather(weather)
    assert not day & LOW_BEAM
    assert stopped & LOW_BEAM and stopped & POSITION, f"night: {stopped:#x}"
    assert stopped & BRAKE, "standing behind the parked car with the brake lights off"
    assert blink & LEFT_BLINKER
    assert untouched == 0, "a vehicle without update_vehicle_lights got lights"


@pytest.mark.timeout(120)
def test_set_path_changes_lanes_to_reach_a_location_on_the_next_lane(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        point, left = spawn_on_straight(scene.road, "left", ahead_m=70.0)
        target = left.next(55.0)[0].transform.location
        car = scene.autopilot(point)
        scene.tm.set_path(car, [target])
        nearest = float("inf")
        for _ in range(300):
            scene.tick()
            nearest = min(nearest, car.get_location().distance(target))
    assert nearest < 1.5, nearest
