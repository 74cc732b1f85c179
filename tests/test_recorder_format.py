"""Recorder file format as pure functions: primitives, header, frames, round trips."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from runner.recorder import format as fmt
from runner.recorder import paths, reader
from runner.recorder.format import PacketId, cpp_float
from runner.sim.recorder.writer import Recorder
from runner.sim.world.actors import Actor, ActorKind, TrafficLight, VehicleState
from runner.sim.world.geometry import Transform

DATE = 1_700_000_000


def vehicle(actor_id: int, x: float, role: str = "autopilot") -> Actor:
    actor = Actor(
        actor_id,
        "vehicle.tesla.model3",
        ActorKind.VEHICLE,
        {"role_name": (4, role), "number_of_wheels": (2, "4")},
        Transform(x, -2.5, 0.25, pitch=1.0, yaw=90.0, roll=3.0),
    )
    actor.vehicle = VehicleState()
    return actor


def light(actor_id: int) -> Actor:
    return Actor(
        actor_id,
        "traffic.traffic_light",
        ActorKind.TRAFFIC_LIGHT,
        {"role_name": (4, "")},
        Transform(1.0, 2.0, 0.0),
        traffic_light=TrafficLight("7", 1, 0, elapsed_time=1.5),
    )


class Capture(io.BytesIO):
    """A file that keeps its bytes after close, and counts writes."""

    writes = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes += 1
        return super().write(data)

    def close(self) -> None:
        self.final = self.getvalue()
        super().close()


def record(frames: list[tuple[float, dict[int, Actor], list[tuple[int, int]]]]) -> bytes:
    out = Capture()
    recorder = Recorder(out, "Town06", additional_data=False, date=DATE)
    for delta_s, actors, pairs in frames:
        recorder.write_frame(delta_s, actors, pairs, game_time_s=12.5)
    recorder.close()
    return out.final


# -- primitives ---------------------------------------------------------------------


def test_strings_are_u16_length_and_utf8() -> None:
    assert fmt.encode_string("Town06") == bytes.fromhex("0600546f776e3036")
    assert fmt.decode_string(b"xx" + fmt.encode_string("Straße"), 2) == ("Straße", 11)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.05, "0.05"),
        (1.0, "1"),
        (12.345678, "12.3457"),
        (1234567.0, "1.23457e+06"),
        (1e6, "1e+06"),
        (100000.0, "100000"),
        (1e-5, "1e-05"),
        (-0.0, "-0"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "nan"),
        (-float("nan"), "-nan"),
        (float(struct.unpack("<f", struct.pack("<f", 0.1))[0]), "0.1"),
    ],
)
def test_cpp_float_matches_default_ostream(value: float, text: str) -> None:
    assert cpp_float(value) == text


def test_struct_sizes_match_the_reference() -> None:
    sizes = {
        fmt.FRAME: 24,
        fmt.COLLISION: 14,
        fmt.POSITION: 28,
        fmt.STATE: 10,
        fmt.ANIM_VEHICLE: 21,
        fmt.ANIM_WALKER: 8,
        fmt.VEHICLE_LIGHT: 8,
        fmt.SCENE_LIGHT: 26,
        fmt.TRAFFIC_LIGHT_TIME: 16,
        fmt.DOOR: 6,
        fmt.WHEEL: 9,
        fmt.BIKER: 12,
    }
    assert {s.format: s.size for s in sizes} == {s.format: n for s, n in sizes.items()}


# -- header and frames --------------------------------------------------------------


def test_header_round_trips() -> None:
    data = record([])
    info, offset = reader.read_info(data)
    assert info == reader.Info(fmt.VERSION, "CARLA_RECORDER", DATE, "Town06")
    assert offset == len(data) == 2 + 16 + 8 + 8


def test_version_one_files_are_read_too() -> None:
    data = bytearray(record([(0.0, {}, [])]))
    data[0:2] = struct.pack("<H", 1)
    info, offset = reader.read_info(bytes(data))
    assert info.version == 1
    assert [f.frame.id for f in reader.iter_frames(bytes(data), offset)] == [1]


def test_not_a_recorder_is_refused() -> None:
    with pytest.raises(reader.NotARecorderFile):
        reader.read_info(b"\x01\x00\x05\x00HELLO")
    with pytest.raises(reader.NotARecorderFile):
        reader.read_info(b"")


def test_frames_follow_the_0916_packet_order_and_one_write_each() -> None:
    out = Capture()
    recorder = Recorder(out, "Town06", additional_data=False, date=DATE)
    for _ in range(3):
        recorder.write_frame(0.05, {5: vehicle(5, 1.0)})
    recorder.close()
    assert out.writes == 1 + 3  # the header, then one write per frame
    _, offset = reader.read_info(out.final)
    ids = [p.id for p in reader.iter_packets(out.final, offset)][:16]
    assert ids == [0, 20, 2, 3, 4, 5, 23, 6, 7, 8, 9, 10, 21, 22, 1, 0]


def test_durations_are_back_patched_and_the_last_stays_minus_one() -> None:
    actors = {5: vehicle(5, 1.0)}
    data = record([(0.0, actors, []), (0.05, actors, []), (0.1, actors, [])])
    frames = [f.frame for f in reader.iter_frames(data, reader.read_info(data)[1])]
    assert frames == [
        reader.Frame(1, 0.05, 0.0),
        reader.Frame(2, 0.1, 0.05),
        reader.Frame(3, -1.0, pytest.approx(0.15)),  # type: ignore[arg-type]
    ]


def packets_of(data: bytes, frame_index: int) -> dict[int, memoryview]:
    frames = list(reader.iter_frames(data, reader.read_info(data)[1]))
    return {p.id: p.data for p in frames[frame_index].packets}


def test_event_add_converts_to_centimetres_and_roll_pitch_yaw() -> None:
    data = record([(0.0, {5: vehicle(5, 1.5, "hero")}, [])])
    (event,) = reader.read_event_adds(packets_of(data, 0)[PacketId.EVENT_ADD])
    assert event.id == 5 and event.type == fmt.ActorType.VEHICLE
    assert event.location == pytest.approx((150.0, -250.0, 25.0))
    assert event.rotation == pytest.approx((3.0, 1.0, 90.0))
    assert event.type_id == "vehicle.tesla.model3"
    assert event.attributes == (
        reader.Attribute(4, "role_name", "hero"),
        reader.Attribute(2, "number_of_wheels", "4"),
    )


def test_state_packets_round_trip() -> None:
    car = vehicle(5, 1.0)
    assert car.vehicle is not None
    car.vehicle.control.steer = 0.25
    car.vehicle.control.gear = 2
    car.vehicle.light_state = 8 | 1
    sensor = Actor(9, "sensor.other.collision", ActorKind.SENSOR, {}, Transform(), parent_id=5)
    packets = packets_of(record([(0.0, {5: car, 7: light(7), 9: sensor}, [(5, 9)])]), 0)
    assert reader.read_records(packets[PacketId.POSITION], fmt.POSITION) == [
        (5, 100.0, -250.0, 25.0, 3.0, 1.0, 90.0)
    ]
    assert reader.read_records(packets[PacketId.STATE], fmt.STATE) == [(7, False, 1.5, 0)]
    anim = reader.read_records(packets[PacketId.ANIM_VEHICLE], fmt.ANIM_VEHICLE)
    assert anim == [(5, 0.25, 0.0, 0.0, False, 2)]
    assert reader.read_records(packets[PacketId.VEHICLE_LIGHT], fmt.VEHICLE_LIGHT) == [(5, 9)]
    assert reader.read_records(packets[PacketId.EVENT_PARENT], fmt.PARENT) == [(9, 5)]
    assert reader.read_records(packets[PacketId.COLLISION], fmt.COLLISION) == [
        (0, 5, 9, False, False)
    ]


def test_collisions_are_one_per_ordered_pair_and_frame() -> None:
    actors = {5: vehicle(5, 1.0, "hero"), 6: vehicle(6, 9.0)}
    pairs = [(5, 6), (5, 6), (6, 5), (5, fmt.NON_ACTOR_ID)]
    packets = packets_of(record([(0.0, actors, pairs)]), 0)
    assert reader.read_records(packets[PacketId.COLLISION], fmt.COLLISION) == [
        (0, 5, 6, True, False),
        (2, 6, 5, False, True),
        (3, 5, fmt.NON_ACTOR_ID, True, False),
    ]


def test_destroyed_actors_get_event_del_once() -> None:
    both = {5: vehicle(5, 1.0), 6: vehicle(6, 9.0)}
    data = record([(0.0, both, []), (0.05, {5: both[5]}, []), (0.05, {5: both[5]}, [])])
    assert [reader.read_ids(packets_of(data, k)[PacketId.EVENT_DEL]) for k in range(3)] == [
        [],
        [6],
        [],
    ]


def test_additional_data_adds_kinematics_boxes_and_platform_time() -> None:
    out = Capture()
    recorder = Recorder(out, "Town06", additional_data=True, date=DATE)
    recorder.write_frame(0.0, {5: vehicle(5, 1.0), 7: light(7)})
    recorder.close()
    _, offset = reader.read_info(out.final)
    ids = [p.id for p in reader.iter_packets(out.final, offset)]
    assert ids[-6:] == [12, 13, 14, 16, 19, 1]


def test_unknown_packets_are_skipped_and_a_truncated_tail_ignored() -> None:
    data = record([(0.0, {5: vehicle(5, 1.0)}, [])])
    custom = fmt.HEADER.pack(100, 3) + b"abc"
    _, offset = reader.read_info(data)
    spliced = data[:offset] + custom + data[offset:] + fmt.HEADER.pack(6, 50) + b"short"
    ids = [p.id for p in reader.iter_packets(spliced, offset)]
    assert ids[0] == 100 and ids[-1] == PacketId.FRAME_END


# -- file names ------------------------------------------------------------------------


def test_names_with_separators_are_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.ENV_DIR, "/srv/rec")
    assert paths.resolve("/tmp/a.log") == "/tmp/a.log"
    assert paths.resolve("sub/a.log") == "sub/a.log"
    assert paths.resolve("c:\\records\\a.log") == "c:\\records\\a.log"
    assert paths.resolve("a.log") == "/srv/rec/a.log"


def test_bare_names_go_to_the_xdg_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(paths.ENV_DIR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    expected = tmp_path / "carla-scenario-runner" / "recordings" / "run.log"
    assert paths.resolve("run.log") == str(expected)
