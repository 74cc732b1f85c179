"""Query text for a synthetic recording, against strings written from the reference.

The scenario (12 frames, 0.5 s apart, written with our own writer):
  1 spectator at the origin all along; 10 hero car moving 5 m a frame;
  11 car stopped in frames 1-8, moving from 9; 12 walker standing still;
  13 traffic light; 14 barrel added in frame 2, destroyed in frame 5;
  15 car added in frame 3, standing still (CARLA's EventDel quirk forgets it).
  Collisions: 10-11 in frames 3, 4 and 6; 10-world in 6; 10-15 in 7; 11-10 in 8.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import recorder as recording
from runner.recorder import queries
from runner.recorder.format import NON_ACTOR_ID
from runner.sim.recorder.writer import Recorder
from runner.sim.world.actors import Actor, ActorKind, TrafficLight, VehicleState, kind_of
from runner.sim.world.geometry import Transform

DATE = 1_700_000_000  # 2023-11-14 22:13:20 UTC
DT_S = 0.5
PREAMBLE = "Version: 2\nMap: Town06\nDate: 11/14/23 22:13:20\n\n"
COLLISIONS = {3: [(10, 11)], 4: [(10, 11)], 6: [(10, 11), (10, NON_ACTOR_ID)]}
COLLISIONS |= {7: [(10, 15)], 8: [(11, 10)]}


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def make(actor_id: int, type_id: str, x: float, y: float = 0.0, z: float = 0.0) -> Actor:
    role = "hero" if actor_id == 10 else ""
    actor = Actor(actor_id, type_id, kind_of(type_id), {"role_name": (4, role)}, Transform(x, y, z))
    if actor.kind is ActorKind.VEHICLE:
        actor.vehicle = VehicleState()
    if actor.kind is ActorKind.TRAFFIC_LIGHT:
        actor.traffic_light = TrafficLight("1", 0, 0)
    return actor


def actors_at(k: int) -> dict[int, Actor]:
    """Every actor alive in frame k (1-based), at its pose of that frame."""
    actors = {
        1: make(1, "spectator", 0.0),
        10: make(10, "vehicle.tesla.model3", 5.0 * k, -3.25, 0.5),
        11: make(11, "vehicle.audi.a2", 100.0 + 10.0 * max(0, k - 8), 3.5),
        12: make(12, "walker.pedestrian.0001", 50.0, 50.0, 1.2),
        13: make(13, "traffic.traffic_light", 1.0, 2.0),
    }
    if 2 <= k <= 4:
        actors[14] = make(14, "static.prop.barrel", 200.0)
    if k >= 3:
        actors[15] = make(15, "vehicle.audi.a2", 12345.67)
    return actors


@pytest.fixture()
def scenario(tmp_path: Path) -> str:
    path = tmp_path / "scenario.log"
    with path.open("wb") as file:
        recorder = Recorder(file, "Town06", additional_data=False, date=DATE)
        for k in range(1, 13):
            recorder.write_frame(DT_S, actors_at(k), COLLISIONS.get(k, []), k * DT_S)
        recorder.close()
    return str(path)


def test_file_info_prints_event_frames_lazily(scenario: str) -> None:
    assert queries.file_info(scenario, False) == PREAMBLE + (
        "Frame 1 at 0 seconds\n"
        " Create 1: spectator (0) at (0, 0, 0)\n"
        "  role_name = \n"
        " Create 10: vehicle.tesla.model3 (1) at (500, -325, 50)\n"
        "  role_name = hero\n"
        " Create 11: vehicle.audi.a2 (1) at (10000, 350, 0)\n"
        "  role_name = \n"
        " Create 12: walker.pedestrian.0001 (2) at (5000, 5000, 120)\n"
        "  role_name = \n"
        " Create 13: traffic.traffic_light (3) at (100, 200, 0)\n"
        "  role_name = \n"
        "Frame 2 at 0.5 seconds\n"
        " Create 14: static.prop.barrel (0) at (20000, 0, 0)\n"
        "  role_name = \n"
        "Frame 3 at 1 seconds\n"
        " Create 15: vehicle.audi.a2 (1) at (1.23457e+06, 0, 0)\n"
        "  role_name = \n"
        " Collision id 0 between 10 (hero)  with 11\n"
        "Frame 4 at 1.5 seconds\n"
        " Collision id 1 between 10 (hero)  with 11\n"
        "Frame 5 at 2 seconds\n"
        " Destroy 14\n"
        "Frame 6 at 2.5 seconds\n"
        " Collision id 2 between 10 (hero)  with 11\n"
        " Collision id 3 between 10 (hero)  with 4294967295\n"
        "Frame 7 at 3 seconds\n"
        " Collision id 4 between 10 (hero)  with 15\n"
        "Frame 8 at 3.5 seconds\n"
        " Collision id 5 between 11 with 10 (hero) \n"
        "\nFrames: 12\nDuration: 5.5 seconds\n"
    )


def test_file_info_show_all_prints_every_frame_and_count(tmp_path: Path) -> None:
    path = tmp_path / "small.log"
    car, lamp = make(10, "vehicle.tesla.model3", 1.0, 2.0), make(13, "traffic.traffic_light", 0.0)
    assert car.vehicle is not None and lamp.traffic_light is not None
    car.vehicle.control.throttle, car.vehicle.light_state = 0.5, 1 | 8 | 256
    lamp.traffic_light.elapsed_time = 0.25
    with path.open("wb") as file:
        recorder = Recorder(file, "Town06", additional_data=False, date=DATE)
        recorder.write_frame(0.0, {10: car, 13: lamp})
        recorder.write_frame(0.05, {13: lamp})
        recorder.close()
    assert recording.file_info(path, show_all=True) == PREAMBLE + (
        "Frame 1 at 0 seconds\n"
        " Create 10: vehicle.tesla.model3 (1) at (100, 200, 0)\n"
        "  role_name = hero\n"
        " Create 13: traffic.traffic_light (3) at (0, 0, 0)\n"
        "  role_name = \n"
        " Vehicle door animations: 0\n"
        " Positions: 1\n"
        "  Id: 10 Location: (100, 200, 0) Rotation: (0, 0, 0)\n"
        " State traffic lights: 1\n"
        "  Id: 13 state: 0 frozen: 0 elapsedTime: 0.25\n"
        " Vehicle animations: 1\n"
        "  Id: 10 Steering: 0 Throttle: 0.5 Brake: 0 Handbrake: 0 Gear: 0\n"
        " Walker animations: 0\n"
        " Vehicle light animations: 1\n"
        "  Id: 10 Position Brake Interior\n"
        "Frame 2 at 0.05 seconds\n"
        " Destroy 10\n"
        " Vehicle door animations: 0\n"
        " Positions: 0\n"
        " State traffic lights: 1\n"
        "  Id: 13 state: 0 frozen: 0 elapsedTime: 0.25\n"
        " Vehicle animations: 0\n"
        " Walker animations: 0\n"
        " Vehicle light animations: 0\n"
        "\nFrames: 2\nDuration: 0.05 seconds\n"
    )


ROW_10_11 = "  10 vehicle.tesla.model3                    11 vehicle.audi.a2                    \n"
ROW_10_WORLD = "  10 vehicle.tesla.model3                4294967295 " + " " * 35 + "\n"
ROW_10_15 = "  10 vehicle.tesla.model3                    15 " + " " * 35 + "\n"
ROW_11_10 = "  11 vehicle.audi.a2                         10 vehicle.tesla.model3               \n"
COLLISIONS_HEAD = (
    "    Time  Types     Id Actor 1                                 Id Actor 2"
    "                            \n"
)


def test_collisions_lists_new_collisions_with_the_persisting_fixed_flag(scenario: str) -> None:
    assert queries.collisions(scenario, "a", "a") == PREAMBLE + COLLISIONS_HEAD + (
        "       1   v v    " + ROW_10_11 + "       2   v v    " + ROW_10_11 + "       2   v o    "
        + ROW_10_WORLD + "       3   v o    " + ROW_10_15 + "       4   v v    " + ROW_11_10
        + "\nFrames: 12\nDuration: 6 seconds\n"
    )  # fmt: skip


def test_collisions_filter_by_hero_and_category(scenario: str) -> None:
    expected = "       1   v v    " + ROW_10_11 + "       2   v v    " + ROW_10_11
    assert queries.collisions(scenario, "h", "v") == PREAMBLE + COLLISIONS_HEAD + expected + (
        "\nFrames: 12\nDuration: 6 seconds\n"
    )
    assert queries.collisions(scenario, "w", "a") == PREAMBLE + COLLISIONS_HEAD + (
        "\nFrames: 12\nDuration: 5.5 seconds\n"
    )


def test_actors_blocked_sorts_by_duration_and_keeps_carla_quirks(scenario: str) -> None:
    # 15 lost its name to the EventDel quirk; the last frame's -1 duration counts too.
    assert queries.actors_blocked(scenario, 2.0, 10.0) == PREAMBLE + (
        "    Time     Id Actor                                 Duration\n"
        "       0      1 spectator                                    4\n"
        "       0     12 walker.pedestrian.0001                       4\n"
        "       0     11 vehicle.audi.a2                              4\n"
        "       2     15                                              2\n"
        "\nFrames: 12\nDuration: 5.5 seconds\n"
    )


def test_a_move_of_exactly_min_distance_is_a_move(tmp_path: Path) -> None:
    path = tmp_path / "creep.log"
    with path.open("wb") as file:
        recorder = Recorder(file, "Town06", additional_data=False, date=DATE)
        for k in range(6):
            recorder.write_frame(1.0, {10: make(10, "vehicle.audi.a2", 5.0 + 0.1 * (k % 2))})
        recorder.close()
    body = queries.actors_blocked(str(path), 1.0, 10.0).split("Duration\n")[1]
    assert body.startswith("\nFrames: 6")  # 10 cm back and forth is moving when min is 10 cm
    body = queries.actors_blocked(str(path), 1.0, 10.001).split("Duration\n")[1]
    assert body.startswith("       1     10 vehicle.audi.a2                              3\n")


def test_offline_answers_equal_the_server_functions(scenario: str) -> None:
    assert recording.file_info(scenario) == queries.file_info(scenario, False)
    assert recording.collisions(scenario, "h", "a") == queries.collisions(scenario, "h", "a")
    assert recording.actors_blocked(scenario, 1.0, 5.0) == queries.actors_blocked(
        scenario, 1.0, 5.0
    )
    parsed = recording.read_recording(scenario)
    assert parsed.info.map_name == "Town06" and len(parsed.frames) == 12
    assert parsed.duration_s == 5.5


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.log")
    assert queries.file_info(missing, False) == f"File {missing} not found on server\n"
    junk = tmp_path / "junk.log"
    junk.write_bytes(b"\x01\x00\x04\x00JUNK" + bytes(20))
    for text in (
        queries.file_info(str(junk), True),
        queries.collisions(str(junk), "a", "a"),
        queries.actors_blocked(str(junk), 1.0, 1.0),
    ):
        assert text == "File is not a CARLA recorder\n"
