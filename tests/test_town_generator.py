"""The generated towns, checked through CARLA's own road logic (`carla.Map`)."""

from __future__ import annotations

import itertools
from collections import Counter

import carla
import pytest

from runner.sim.world.town_generator import (
    BUILTIN_TOWNS,
    LEFT,
    RIGHT,
    STRAIGHT,
    TownSpec,
    generate_town,
    lane_moves,
)
from tests.conftest import shared_maps_dir

# name -> (junctions, traffic-light landmarks, physical lights) as designed:
# GridTown 4 four-way (16 refs each) + 8 T (8 refs each) + 4 corners (unsignalised).
EXPECTED = {"GridTown": (16, 128, 40), "CrossTown": (9, 48, 16)}


@pytest.fixture(scope="module", params=sorted(BUILTIN_TOWNS))
def town(request: pytest.FixtureRequest) -> tuple[str, str, carla.Map]:
    name: str = request.param
    xodr = generate_town(BUILTIN_TOWNS[name])
    return name, xodr, carla.Map(name, xodr)


def _street_waypoints(m: carla.Map) -> list[carla.Waypoint]:
    return [w for w in m.generate_waypoints(2.0) if not w.is_junction]


def test_generation_is_deterministic() -> None:
    assert generate_town() == generate_town(TownSpec())


def test_header_and_speed_records(town: tuple[str, str, carla.Map]) -> None:
    name, xodr, _ = town
    assert xodr.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<OpenDRIVE>')
    assert f'revMajor="1" revMinor="4" name="{name}"' in xodr
    assert "+lat_0=49 +lon_0=8" in xodr
    assert '<speed max="30" unit="km/h" />' in xodr
    assert '<speed sOffset="0" max="30" unit="km/h" />' in xodr
    assert '<height sOffset="0" inner="0.15" outer="0.15" />' in xodr


def test_waypoints_are_driving_lanes(town: tuple[str, str, carla.Map]) -> None:
    _, _, m = town
    waypoints = m.generate_waypoints(2.0)
    assert len(waypoints) > 1000
    assert {w.lane_type for w in waypoints} == {carla.LaneType.Driving}


def test_junction_count(town: tuple[str, str, carla.Map]) -> None:
    name, _, m = town
    junctions = {w.junction_id for w in m.generate_waypoints(2.0) if w.is_junction}
    assert len(junctions) == EXPECTED[name][0]


def test_no_dead_ends(town: tuple[str, str, carla.Map]) -> None:
    """Every lane segment leads on, so the Traffic Manager can drive forever."""
    _, _, m = town
    topology = m.get_topology()
    assert topology
    assert all(end.next(2.0) for _, end in topology)
    assert all(start.previous(2.0) for start, _ in topology)
    through_junction = [(a, b) for a, b in topology if a.is_junction or b.is_junction]
    assert through_junction


def test_traffic_lights(town: tuple[str, str, carla.Map]) -> None:
    name, _, m = town
    lights = m.get_all_landmarks_of_type("1000001")
    assert len(lights) == EXPECTED[name][1]
    assert len({lm.id for lm in lights}) == EXPECTED[name][2]
    assert all(Counter(lm.id for lm in lights).values())


def test_traffic_lights_face_their_lanes(town: tuple[str, str, carla.Map]) -> None:
    """As in CARLA's towns: landmark yaw = travel direction of the lanes it governs."""
    _, _, m = town
    for lm in m.get_all_landmarks_of_type("1000001"):
        ((lane, _),) = lm.get_lane_validities()
        assert m.get_waypoint_xodr(lm.road_id, lane, lm.s).is_junction
        governed = m.get_waypoint_xodr(lm.road_id, lane, 0.0)  # where the lane enters
        diff = (lm.transform.rotation.yaw - governed.transform.rotation.yaw + 180) % 360 - 180
        assert abs(diff) < 1.0
        # the light stands on the sidewalk to the right, just before the junction
        forward = governed.transform.get_forward_vector()
        right = governed.transform.get_right_vector()
        offset = lm.transform.location - governed.transform.location
        assert offset.x * right.x + offset.y * right.y > 2.0
        assert -2.0 < offset.x * forward.x + offset.y * forward.y < 0.0


def test_right_hand_traffic(town: tuple[str, str, carla.Map]) -> None:
    _, _, m = town
    for wp in _street_waypoints(m):
        forward = wp.transform.get_forward_vector()
        step = wp.next(5.0)[0].transform.location - wp.transform.location
        assert step.x * forward.x + step.y * forward.y > 0.0
        if abs(wp.lane_id) == 1:
            opposite = wp.get_left_lane()
            assert opposite.lane_id == -wp.lane_id
            right = wp.transform.get_right_vector()
            towards = opposite.transform.location - wp.transform.location
            assert towards.x * right.x + towards.y * right.y < 0.0


def test_sidewalks_and_markings(town: tuple[str, str, carla.Map]) -> None:
    _, _, m = town
    for wp in _street_waypoints(m)[::25]:
        inner = wp if abs(wp.lane_id) == 1 else wp.get_left_lane()
        assert inner.left_lane_marking.type == carla.LaneMarkingType.SolidSolid
        assert inner.right_lane_marking.type == carla.LaneMarkingType.Broken
        outer = inner.get_right_lane()
        assert outer.right_lane_marking.type == carla.LaneMarkingType.Solid
        sidewalk = outer.get_right_lane()
        assert sidewalk.lane_type == carla.LaneType.Sidewalk
        assert sidewalk.lane_width == pytest.approx(2.0)
        assert inner.lane_width == pytest.approx(3.5)


@pytest.mark.parametrize("lanes", [1, 3])
def test_other_lane_counts_have_no_dead_ends(lanes: int) -> None:
    spec = TownSpec(name="T", blocks_x=2, blocks_y=1, lanes_per_direction=lanes)
    m = carla.Map(spec.name, generate_town(spec))
    assert all(end.next(2.0) for _, end in m.get_topology())
    assert {w.lane_id for w in _street_waypoints(m)} == {
        k * side for k in range(1, lanes + 1) for side in (1, -1)
    }


def test_every_lane_gets_a_move() -> None:
    turn_sets = [
        set(c) for r in (1, 2, 3) for c in itertools.combinations((STRAIGHT, LEFT, RIGHT), r)
    ]
    for turns, lanes in itertools.product(turn_sets, (1, 2, 3, 4)):
        moves = lane_moves(turns, lanes)
        assert all(moves[k] for k in range(1, lanes + 1)), (turns, lanes)
        assert all(set(m) <= turns for m in moves.values())


def test_four_way_moves() -> None:
    assert lane_moves({STRAIGHT, LEFT, RIGHT}, 2) == {1: [STRAIGHT, LEFT], 2: [STRAIGHT, RIGHT]}
    assert lane_moves({LEFT, RIGHT}, 2) == {1: [LEFT], 2: [RIGHT]}


def test_spec_validation() -> None:
    with pytest.raises(ValueError):
        TownSpec(blocks_x=0)
    with pytest.raises(ValueError):
        TownSpec(block_size_m=20.0)
    with pytest.raises(ValueError):
        TownSpec(lanes_per_direction=5)


def test_carla_town01_uses_the_same_light_convention() -> None:
    """Pins the convention above to CARLA's own data: yaw = governed lane's travel."""
    maps_dir = shared_maps_dir()
    if not (maps_dir / "Town01.xodr").is_file():
        pytest.skip(f"CARLA town files not found in {maps_dir}")
    m = carla.Map("Town01", (maps_dir / "Town01.xodr").read_text())
    for lm in m.get_all_landmarks_of_type("1000001"):
        ((lane, _),) = lm.get_lane_validities()
        governed = m.get_waypoint_xodr(lm.road_id, lane, lm.s)
        diff = (lm.transform.rotation.yaw - governed.transform.rotation.yaw + 180) % 360 - 180
        assert abs(diff) < 5.0


def test_catalog_names_the_generated_towns() -> None:
    """The runner validates map names from the pinned catalog without the generator."""
    from runner.catalog import BUILTIN_MAPS, DEFAULT_MAP

    assert set(BUILTIN_MAPS) == set(BUILTIN_TOWNS)
    assert DEFAULT_MAP in BUILTIN_MAPS
