"""Traffic lights from Town03's landmarks, CARLA's group cycle, and what vehicles see."""

from __future__ import annotations

from collections import Counter
from typing import Any

import carla
import pytest

from runner.sim.world.actors import Actor, ActorKind, TrafficLight, TrafficLightState, VehicleState
from runner.sim.world.geometry import BoundingBox, Transform
from runner.sim.world.road_state import RoadIndex
from runner.sim.world.traffic_lights import LightSpec, TrafficLightController, traffic_light_groups
from runner.sim.world.vehicle_road import RoadState
from tests.conftest import shared_maps_dir

MAPS = shared_maps_dir()
G, Y, R = TrafficLightState.GREEN, TrafficLightState.YELLOW, TrafficLightState.RED


@pytest.fixture(scope="module")
def town03() -> Any:
    path = MAPS / "Town03.xodr"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return carla.Map("Town03", path.read_text())


@pytest.fixture(scope="module")
def specs(town03: Any) -> list[LightSpec]:
    return traffic_light_groups(town03)


def test_one_light_per_signal_id(town03: Any, specs: list[LightSpec]) -> None:
    ids = {lm.id for lm in town03.get_all_landmarks_of_type("1000001")}
    assert len(ids) == 38
    assert sorted(s.opendrive_id for s in specs) == sorted(ids)


def test_groups_follow_junctions(town03: Any, specs: list[LightSpec]) -> None:
    by_group: dict[int, list[LightSpec]] = {}
    for spec in specs:
        by_group.setdefault(spec.group_id, []).append(spec)
    assert len(by_group) == len({s.junction_id for s in specs}) == 11
    for members in by_group.values():
        assert len({m.junction_id for m in members}) == 1
        assert sorted(m.pole_index for m in members) == list(range(len(members)))
    for spec in specs:
        assert spec.stops, spec.opendrive_id
        for stop in spec.stops:
            wp = town03.get_waypoint_xodr(stop.road_id, stop.lane_id, stop.s)
            assert not wp.is_junction
            assert wp.next(0.5)[0].get_junction().id == spec.junction_id


def _lights(n: int, group_id: int = 0) -> list[TrafficLight]:
    return [TrafficLight(str(100 + i), group_id, i) for i in range(n)]


def _run(ctl: TrafficLightController, lights: list[TrafficLight], seconds: float) -> list[Any]:
    dt_s, trace = 0.05, []
    for k in range(round(seconds / dt_s)):
        ctl.step(dt_s)
        trace.append((round((k + 1) * dt_s, 2), tuple(tl.state for tl in lights)))
    return trace


def test_cycle_hands_green_around_the_group() -> None:
    lights = _lights(3)
    ctl = TrafficLightController(lights)
    assert [tl.state for tl in lights] == [G, R, R]
    trace = dict(_run(ctl, lights, 46.0))
    assert trace[9.9] == (G, R, R)
    assert trace[10.1] == (Y, R, R)
    assert trace[13.1] == (R, R, R)  # all-red clearance
    assert trace[15.1] == (R, G, R)
    assert trace[30.1] == (R, R, G)
    assert trace[45.1] == (G, R, R)
    for states in trace.values():
        assert sum(s != R for s in states) <= 1


def test_elapsed_time_counts_from_the_last_change() -> None:
    lights = _lights(2)
    ctl = TrafficLightController(lights)
    _run(ctl, lights, 4.0)
    assert lights[0].elapsed_time == pytest.approx(4.0)
    _run(ctl, lights, 7.0)  # 11 s: yellow for 1 s
    assert lights[0].state == Y and lights[0].elapsed_time == pytest.approx(1.0, abs=0.06)


def test_freeze_holds_and_thaw_resumes() -> None:
    lights = _lights(2)
    ctl = TrafficLightController(lights)
    ctl.freeze_all(True)
    _run(ctl, lights, 30.0)
    assert [tl.state for tl in lights] == [G, R] and all(tl.frozen for tl in lights)
    ctl.freeze_all(False)
    _run(ctl, lights, 10.1)
    assert lights[0].state == Y


def test_set_state_times_and_reset() -> None:
    lights = _lights(2)
    ctl = TrafficLightController(lights)
    ctl.set_state_time(lights[1], G, 4.0)
    ctl.set_state(lights[1], Y)
    assert [tl.state for tl in lights] == [G, Y]
    trace = dict(_run(ctl, lights, 20.0))
    assert trace[15.1] == (R, G) and trace[19.1] == (R, Y)
    ctl.reset_group(0)
    assert [tl.state for tl in lights] == [G, R]


def _light_actors(specs: list[LightSpec]) -> dict[str, Actor]:
    actors = {}
    for k, spec in enumerate(specs):
        record = TrafficLight(spec.opendrive_id, spec.group_id, spec.pole_index)
        actors[spec.opendrive_id] = Actor(
            1000 + k,
            "traffic.traffic_light",
            ActorKind.TRAFFIC_LIGHT,
            {},
            spec.transform,
            traffic_light=record,
        )
    return actors


def _car_before(town03: Any, spec: LightSpec, gap_m: float, actor_id: int = 1) -> Actor:
    stop = spec.stops[0]
    wp = town03.get_waypoint_xodr(stop.road_id, stop.lane_id, stop.s).previous(gap_m + 2.4)[0]
    t = wp.transform
    pose = Transform(t.location.x, t.location.y, t.location.z, 0.0, t.rotation.yaw, 0.0)
    box = BoundingBox((0.0, 0.0, 0.74), (2.4, 1.08, 0.74))
    return Actor(
        actor_id, "vehicle.tesla.model3", ActorKind.VEHICLE, {}, pose, box, vehicle=VehicleState()
    )


def test_vehicle_before_a_signalised_junction_sees_its_light(
    town03: Any, specs: list[LightSpec]
) -> None:
    lights = _light_actors(specs)
    road_state = RoadState(RoadIndex(town03, specs), specs, lights)
    spec = specs[0]
    light = lights[spec.opendrive_id]
    assert light.traffic_light is not None
    light.traffic_light.state = R
    near, far = _car_before(town03, spec, 2.0, 1), _car_before(town03, spec, 25.0, 2)
    road_state.update([near, far])
    assert near.vehicle is not None and far.vehicle is not None
    assert near.vehicle.traffic_light_id == light.id
    assert near.vehicle.traffic_light_state == R
    assert far.vehicle.traffic_light_id == 0 and far.vehicle.traffic_light_state == G
    far.vehicle.speed_mps = 18.0  # fast: needs the light far earlier to stop in time
    road_state.update([near, far])
    assert far.vehicle.traffic_light_id == light.id


def test_speed_limit_from_signs_else_default(town03: Any, specs: list[LightSpec]) -> None:
    road_state = RoadState(RoadIndex(town03, specs), specs, {})
    wp = town03.get_waypoint_xodr(67, -1, 50.0)  # past the "Speed_90" sign at s = 9.9
    t = wp.transform
    pose = Transform(t.location.x, t.location.y, t.location.z, 0.0, t.rotation.yaw, 0.0)
    highway = Actor(1, "vehicle.audi.a2", ActorKind.VEHICLE, {}, pose, vehicle=VehicleState())
    town = _car_before(town03, specs[0], 20.0, 2)
    road_state.update([highway, town])
    assert highway.vehicle is not None and town.vehicle is not None
    assert highway.vehicle.speed_limit_kmh == 90.0
    assert town.vehicle.speed_limit_kmh == 30.0
    assert Counter(s.group_id for s in specs).most_common(1)[0][1] <= 5
