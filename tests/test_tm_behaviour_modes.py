"""Hybrid physics, respawning, the random seed, asynchronous mode, next actions (issue 8).

Real carla client against the embedded server on GridTown; helpers from
tests/test_tm_behaviour.py.
"""

from __future__ import annotations

import time

import carla
import pytest

from runner.sim.process import EmbeddedServer
from tests.conftest import require_town
from tests.test_tm_behaviour import Scene


def _by_distance(points: list[carla.Transform], centre: carla.Location) -> list[carla.Transform]:
    return sorted(points, key=lambda p: p.location.distance(centre))


@pytest.mark.timeout(120)
def test_hybrid_mode_moves_far_vehicles_without_physics(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        points = scene.road.get_spawn_points()
        hero = scene.parked(points[0], role="hero")
        ordered = _by_distance(points[1:], points[0].location)
        near = [scene.autopilot(p) for p in ordered[1:3]]
        far = [scene.autopilot(p) for p in ordered[-3:]]
        scene.tm.set_hybrid_physics_mode(True)
        scene.tm.set_hybrid_physics_radius(80.0)
        scene.tick()
        start = {v.id: v.get_location() for v in near + far}
        scene.tick(60)
        speeds = {v.id: v.get_velocity().length() for v in near + far}
        moved = {v.id: v.get_location().distance(start[v.id]) for v in near + far}
        assert hero.get_location().distance(points[0].location) < 1.0
    for v in far:
        assert moved[v.id] > 5.0 and speeds[v.id] < 0.01, (moved[v.id], speeds[v.id])
    for v in near:
        assert speeds[v.id] > 1.0, "a vehicle near the hero lost its physics"


@pytest.mark.timeout(120)
def test_dormant_vehicles_respawn_within_the_bounds_around_the_hero(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        points = scene.road.get_spawn_points()
        centre = points[0].location
        scene.parked(points[0], role="hero")
        far = [scene.autopilot(p) for p in _by_distance(points[1:], centre)[-4:]]
        before = [v.get_location().distance(centre) for v in far]
        scene.tm.set_hybrid_physics_mode(True)
        scene.tm.set_respawn_dormant_vehicles(True)
        scene.tm.set_boundaries_respawn_dormant_vehicles(30.0, 90.0)
        scene.tick(3)
        after = [v.get_location().distance(centre) for v in far]
    assert min(before) > 150.0
    assert all(28.0 < d < 95.0 for d in after), after


def _positions_after(client: carla.Client, seed: int) -> list[tuple[float, float]]:
    with Scene(client, fresh=True) as scene:
        cars = [scene.autopilot(p) for p in scene.road.get_spawn_points()[:12]]
        scene.tm.set_random_device_seed(seed)
        scene.tick(300)
        return [(round(v.get_location().x, 4), round(v.get_location().y, 4)) for v in cars]


@pytest.mark.timeout(180)
def test_the_same_seed_gives_the_same_traffic(server: EmbeddedServer, client: carla.Client) -> None:
    first, again, other = (_positions_after(client, s) for s in (7, 7, 8))
    assert first == again
    assert first != other


@pytest.mark.timeout(120)
def test_asynchronous_mode_drives_too(server: EmbeddedServer, client: carla.Client) -> None:
    world = client.get_world()
    settings = world.get_settings()
    settings.synchronous_mode, settings.fixed_delta_seconds = False, 0.05
    world.apply_settings(settings)
    tm = client.get_trafficmanager(8177)
    blueprint = world.get_blueprint_library().find("vehicle.tesla.model3")
    cars = [world.spawn_actor(blueprint, p) for p in world.get_map().get_spawn_points()[:3]]
    try:
        for car in cars:
            car.set_autopilot(True, 8177)
        world.wait_for_tick(5.0)
        start = [c.get_location() for c in cars]
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            world.wait_for_tick(5.0)
            if min(c.get_location().distance(s) for c, s in zip(cars, start, strict=True)) > 5:
                break
        moved = [c.get_location().distance(s) for c, s in zip(cars, start, strict=True)]
    finally:
        client.apply_batch([carla.command.DestroyActor(c.id) for c in cars])
        tm.shut_down()
        settings.fixed_delta_seconds = None
        world.apply_settings(settings)
    assert min(moved) > 5.0, moved


@pytest.mark.timeout(60)
def test_next_actions_are_empty_through_the_0916_remote(
    server: EmbeddedServer, client: carla.Client
) -> None:
    """TrafficManagerRemote in 0.9.16 discards the server's answer (see methods.py)."""
    with Scene(client) as scene:
        car = scene.autopilot(scene.road.get_spawn_points()[0])
        scene.tick(20)
        assert scene.tm.get_next_action(car) == ["Void", None]
        assert scene.tm.get_all_actions(car) == []


def _approach_speeds(scene: Scene, ignore_pct: float) -> tuple[float, bool]:
    """(lowest speed once under way before the junction, whether it entered the junction)."""
    mark = next(m for m in scene.road.get_all_landmarks() if m.type == "206")
    lane = mark.get_lane_validities()[0][0]
    guarded = scene.road.get_waypoint_xodr(mark.road_id, lane, mark.s)
    start = guarded.previous(40.0)[0]
    car = scene.autopilot(start.transform)
    scene.tm.ignore_signs_percentage(car, ignore_pct)
    scene.tm.ignore_lights_percentage(car, 100.0)
    lowest, going, entered = float("inf"), False, False
    for _ in range(300):
        scene.tick()
        speed = car.get_velocity().length()
        going |= speed > 3.0
        if scene.road.get_waypoint(car.get_location()).is_junction:
            entered = True
            break
        if going:
            lowest = min(lowest, speed)
    return lowest, entered


@pytest.mark.timeout(180)
def test_stop_signs_stop_vehicles_unless_ignored(
    server: EmbeddedServer, client: carla.Client
) -> None:
    """Town05 is the only town here with stop signs (see runner/sim/traffic/signs.py)."""
    require_town("Town05")
    with Scene(client, town="Town05") as scene:
        stopping = _approach_speeds(scene, 0.0)
    with Scene(client, town="Town05") as scene:
        running = _approach_speeds(scene, 100.0)
    assert stopping[1] and stopping[0] < 0.3, stopping
    assert running[1] and running[0] > 1.0, running


@pytest.mark.timeout(120)
def test_a_dormant_vehicle_released_by_the_tm_gets_its_physics_back(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        points = scene.road.get_spawn_points()
        car = scene.autopilot(points[0])  # no hero: every vehicle of a hybrid TM is dormant
        scene.tm.set_hybrid_physics_mode(True)
        scene.tick(40)
        dormant_speed = car.get_velocity().length()
        car.set_autopilot(False, scene.port)
        car.apply_control(carla.VehicleControl(throttle=0.6))
        scene.tick(40)
        released_speed = car.get_velocity().length()
    assert dormant_speed < 0.01 and released_speed > 1.0, (dormant_speed, released_speed)
