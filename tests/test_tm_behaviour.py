"""Traffic Manager settings change what the vehicles do (issue 8): lane changes, routes.

Each test drives the real carla client against the embedded server on the built-in
GridTown (two lanes each way, 100 m blocks), a few hundred synchronous ticks, and
asserts what a user would see: the lane a vehicle is in, how far it is from the lane's
centre on the way, where it turned. The helpers here (`Scene`, `spawn_on_straight`) serve
the other tests/test_tm_behaviour_*.py files too.
"""

from __future__ import annotations

import itertools
import socket
from types import TracebackType

import carla
import pytest

from runner.sim.process import EmbeddedServer

TOWN = "GridTown"
DT_S = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Scene:
    """A synchronous GridTown world with one TM port; destroys what it spawned on exit."""

    def __init__(self, client: carla.Client, town: str = TOWN, fresh: bool = False) -> None:
        self.client = client
        world = client.get_world()
        if fresh or town not in world.get_map().name:
            world = client.load_world(town)
        self.world = world
        self.road = world.get_map()
        self.port = free_port()
        self.actors: list[carla.Actor] = []
        self.blueprint = world.get_blueprint_library().find("vehicle.tesla.model3")

    def __enter__(self) -> Scene:
        settings = self.world.get_settings()
        settings.synchronous_mode, settings.fixed_delta_seconds = True, DT_S
        self.world.apply_settings(settings)
        self.tm = self.client.get_trafficmanager(self.port)
        self.tm.set_synchronous_mode(True)
        self.tm.set_random_device_seed(1)  # the same draws every run
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.client.apply_batch_sync(
                [carla.command.DestroyActor(a.id) for a in self.actors], False
            )
            self.world.tick()
        finally:
            self.tm.set_synchronous_mode(False)
            self.tm.shut_down()
            settings = self.world.get_settings()
            settings.synchronous_mode, settings.fixed_delta_seconds = False, None
            self.world.apply_settings(settings)

    def spawn(self, at: carla.Transform, role: str = "") -> carla.Vehicle:
        bp = self.blueprint
        if role:
            bp.set_attribute("role_name", role)
        lifted = carla.Transform(at.location + carla.Location(z=0.3), at.rotation)
        actor = self.world.spawn_actor(bp, lifted)
        if role:
            bp.set_attribute("role_name", "autopilot")
        self.actors.append(actor)
        return actor

    def autopilot(self, at: carla.Transform, role: str = "") -> carla.Vehicle:
        vehicle = self.spawn(at, role)
        vehicle.set_autopilot(True, self.port)
        return vehicle

    def parked(self, at: carla.Transform, role: str = "") -> carla.Vehicle:
        vehicle = self.spawn(at, role)
        vehicle.apply_control(carla.VehicleControl(brake=1.0, hand_brake=True))
        return vehicle

    def tick(self, count: int = 1) -> None:
        for _ in range(count):
            self.world.tick()


def lane_of(road: carla.Map, vehicle: carla.Actor) -> tuple[int, int]:
    wp = road.get_waypoint(vehicle.get_location())
    return wp.road_id, wp.lane_id


def spawn_on_straight(
    road: carla.Map,
    side: str,
    ahead_m: float,
    skip: int = 0,
    away_from: list[carla.Location] | None = None,
) -> tuple[carla.Transform, carla.Waypoint]:
    """A spawn point with a same-direction lane on `side` for `ahead_m` and no junction."""
    allowed = {
        "left": (carla.LaneChange.Left, carla.LaneChange.Both),
        "right": (carla.LaneChange.Right, carla.LaneChange.Both),
    }[side]
    found = []
    for point in road.get_spawn_points():
        wp = road.get_waypoint(point.location)
        other = wp.get_left_lane() if side == "left" else wp.get_right_lane()
        if other is None or other.lane_type != carla.LaneType.Driving:
            continue
        if other.lane_id * wp.lane_id <= 0 or wp.lane_change not in allowed:
            continue
        if any(wp.next(d)[0].is_junction for d in range(2, int(ahead_m), 4)):
            continue
        if away_from and min(point.location.distance(a) for a in away_from) < 40.0:
            continue
        found.append((point, other))
    return found[skip]


@pytest.mark.timeout(120)
def test_force_lane_change_moves_the_vehicle_smoothly_into_the_next_lane(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        point, left = spawn_on_straight(scene.road, "left", ahead_m=70.0)
        car = scene.autopilot(point)
        scene.tick(30)
        start = lane_of(scene.road, car)
        scene.tm.force_lane_change(car, True)
        offsets = []
        for _ in range(120):
            scene.tick()
            wp = scene.road.get_waypoint(car.get_location())
            offsets.append((wp.lane_id, car.get_location().distance(wp.transform.location)))
        end = lane_of(scene.road, car)
    assert start[1] != left.lane_id and end == (left.road_id, left.lane_id)
    deviation = [d for _, d in offsets]
    assert max(deviation) > 1.0, "no lateral transition was seen"
    assert all(abs(b - a) < 0.4 for a, b in itertools.pairwise(deviation)), (
        "the lateral offset jumped"
    )
    assert deviation[-1] < 0.3, "the vehicle did not settle on the new lane's centre"


@pytest.mark.timeout(120)
def test_auto_lane_change_passes_a_stopped_vehicle_and_can_be_turned_off(
    server: EmbeddedServer, client: carla.Client
) -> None:
    results = {}
    for auto in (True, False):
        with Scene(client) as scene:
            point, left = spawn_on_straight(scene.road, "left", ahead_m=70.0)
            wp = scene.road.get_waypoint(point.location)
            parked = scene.parked(wp.next(25.0)[0].transform)
            car = scene.autopilot(point)
            scene.tm.auto_lane_change(car, auto)
            lanes = set()
            for _ in range(220):
                scene.tick()
                lanes.add(lane_of(scene.road, car)[1])
            passed = _ahead_of(car, parked, point)
            results[auto] = (passed, lanes, car.get_location().distance(parked.get_location()))
    passed, lanes, _ = results[True]
    assert passed and left.lane_id in lanes, "auto lane change did not overtake"
    passed, lanes, gap = results[False]
    assert not passed and left.lane_id not in lanes and gap < 10.0, "it changed lanes anyway"


@pytest.mark.timeout(120)
def test_random_lane_change_and_keep_right_percentages(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        right_lane, left = spawn_on_straight(scene.road, "left", ahead_m=60.0)
        used = [right_lane.location]
        left_lane, right = spawn_on_straight(scene.road, "right", 60.0, away_from=used)
        used.append(left_lane.location)
        control, _ = spawn_on_straight(scene.road, "left", 60.0, away_from=used)
        eager = scene.autopilot(right_lane)
        keeper = scene.autopilot(left_lane)
        calm = scene.autopilot(control)
        scene.tm.random_left_lanechange_percentage(eager, 100.0)
        scene.tm.keep_slow_lane_rule_percentage(keeper, 100.0)
        seen: dict[int, set[int]] = {v.id: set() for v in (eager, keeper, calm)}
        for _ in range(80):
            scene.tick()
            for v in (eager, keeper, calm):
                seen[v.id].add(lane_of(scene.road, v)[1])
    assert left.lane_id in seen[eager.id]
    assert right.lane_id in seen[keeper.id]
    assert len(seen[calm.id]) == 1, "a vehicle without a reason changed lanes"


def _ahead_of(car: carla.Actor, other: carla.Actor, start: carla.Transform) -> bool:
    """Whether car is farther along the start heading than other."""
    f = start.get_forward_vector()
    c, o = car.get_location() - start.location, other.get_location() - start.location
    return c.x * f.x + c.y * f.y > o.x * f.x + o.y * f.y


@pytest.mark.timeout(120)
def test_a_forced_lane_change_waits_while_the_target_lane_is_occupied(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        point, left = spawn_on_straight(scene.road, "left", ahead_m=70.0)
        blocker = scene.parked(left.next(4.0)[0].transform)  # beside it, a little ahead
        car = scene.autopilot(point)
        scene.tm.force_lane_change(car, True)
        beside = []
        for _ in range(140):
            scene.tick()
            gap = car.get_location().distance(blocker.get_location())
            beside.append((gap, lane_of(scene.road, car)[1]))
        end = lane_of(scene.road, car)
    assert all(lane != left.lane_id for gap, lane in beside if gap < 9.0), beside
    assert end == (left.road_id, left.lane_id), "the change never happened once clear"


@pytest.mark.timeout(120)
def test_lane_changes_happen_outside_junctions_only(
    server: EmbeddedServer, client: carla.Client
) -> None:
    with Scene(client) as scene:
        point, _ = spawn_on_straight(scene.road, "left", ahead_m=20.0)
        car = scene.autopilot(point)
        scene.tm.random_left_lanechange_percentage(car, 100.0)
        scene.tm.random_right_lanechange_percentage(car, 100.0)
        scene.tm.ignore_lights_percentage(car, 100.0)
        scene.tm.set_desired_speed(car, 36.0)
        changes, junction_offsets, last = 0, [], lane_of(scene.road, car)
        for _ in range(500):
            scene.tick()
            wp = scene.road.get_waypoint(car.get_location())
            if wp.is_junction:
                junction_offsets.append(car.get_location().distance(wp.transform.location))
            elif (wp.road_id, wp.lane_id) != last and wp.road_id == last[0]:
                changes += 1
            last = (wp.road_id, wp.lane_id)
    print(f"{changes} lane changes, largest offset in junctions {max(junction_offsets):.2f} m")
    assert changes >= 2, changes
    # corner cutting stays within ~0.6 m; a lane change would pass 1.75 m (half a lane)
    assert junction_offsets and max(junction_offsets) < 1.2, max(junction_offsets)
