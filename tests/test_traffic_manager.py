"""50 Traffic-Manager vehicles on Town03 for 2,000 synchronous ticks (issue 2 acceptance).

Prints what it measured (lane deviation, red-light behaviour, collisions), so a run
with `-s` doubles as a report.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field

import carla

from tests.conftest import require_town

TM_PORT = 8131
VEHICLES = 50
TICKS = 2000
SAMPLE_EVERY = 10


@dataclass
class Observations:
    lane_deviation_m: list[float] = field(default_factory=list)
    at_red: int = 0
    stopped_at_red: int = 0
    ran_red: int = 0
    collisions: list[tuple[int, int]] = field(default_factory=list)
    previous: dict[int, tuple[bool, bool]] = field(default_factory=dict)

    def sample(self, vehicle: carla.Vehicle, road: carla.Map) -> None:
        location = vehicle.get_location()
        wp = road.get_waypoint(location)
        if not wp.is_junction:
            self.lane_deviation_m.append(location.distance(wp.transform.location))
        red = vehicle.is_at_traffic_light() and (
            vehicle.get_traffic_light_state() == carla.TrafficLightState.Red
        )
        if red:
            self.at_red += 1
            self.stopped_at_red += vehicle.get_velocity().length() < 0.2
        was_red, was_in_junction = self.previous.get(vehicle.id, (False, False))
        if was_red and wp.is_junction and not was_in_junction:
            self.ran_red += 1
        self.previous[vehicle.id] = (red, wp.is_junction)


def _spawn(client: carla.Client, world: carla.World) -> list[carla.Vehicle]:
    points = world.get_map().get_spawn_points()
    random.Random(3).shuffle(points)
    library = [
        bp
        for bp in world.get_blueprint_library().filter("vehicle.*")
        if int(bp.get_attribute("number_of_wheels")) == 4
    ]
    rng = random.Random(4)
    batch = [
        carla.command.SpawnActor(rng.choice(library), p).then(
            carla.command.SetAutopilot(carla.command.FutureActor, True, TM_PORT)
        )
        for p in points[:VEHICLES]
    ]
    ids = [r.actor_id for r in client.apply_batch_sync(batch, True) if not r.error]
    return [world.get_actor(i) for i in ids]


def test_fifty_autopilot_vehicles_drive_town03(client: carla.Client) -> None:
    require_town("Town03")
    world = client.load_world("Town03")
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    tm = client.get_trafficmanager(TM_PORT)
    tm.set_synchronous_mode(True)
    tm.set_random_device_seed(3)
    vehicles = _spawn(client, world)
    assert len(vehicles) == VEHICLES
    seen = Observations()
    collision_bp = world.get_blueprint_library().find("sensor.other.collision")
    sensors = [world.spawn_actor(collision_bp, carla.Transform(), attach_to=v) for v in vehicles]
    for sensor, vehicle in zip(sensors, vehicles, strict=True):
        sensor.listen(lambda e, vid=vehicle.id: seen.collisions.append((vid, e.other_actor.id)))
    road = world.get_map()
    start = {v.id: v.get_location() for v in vehicles}
    try:
        for tick in range(TICKS):
            world.tick()
            if tick % SAMPLE_EVERY == 0:
                for vehicle in vehicles:
                    seen.sample(vehicle, road)
        moved = [v.get_location().distance(start[v.id]) for v in vehicles]
    finally:
        time.sleep(0.5)  # let in-flight callbacks finish: stop() during one can deadlock
        for sensor in sensors:
            sensor.stop()
        client.apply_batch_sync([carla.command.DestroyActor(a) for a in sensors + vehicles])
        tm.set_synchronous_mode(False)
        tm.shut_down()  # a TM outliving its server crashes the client process

    pairs = {tuple(sorted(p)) for p in seen.collisions}
    deviations = sorted(seen.lane_deviation_m)
    p99 = deviations[int(len(deviations) * 0.99)]
    print(
        f"\nlane deviation outside junctions: mean {statistics.mean(deviations):.2f} m,"
        f" p99 {p99:.2f} m, max {deviations[-1]:.2f} m"
        f"\nred-light samples {seen.at_red}, stopped {seen.stopped_at_red},"
        f" entered a junction on red {seen.ran_red}"
        f"\ncollision events {len(seen.collisions)}, distinct pairs {len(pairs)}"
        f"\nmedian distance from start after {TICKS} ticks: {statistics.median(moved):.0f} m"
    )
    assert statistics.median(moved) > 30.0, "the traffic did not drive"
    assert p99 < 1.0, "vehicles leave their lanes"
    assert seen.at_red > 50 and seen.stopped_at_red > 0.8 * seen.at_red
    assert seen.ran_red <= 2
    assert len(pairs) <= 5, "collisions are not rare"
