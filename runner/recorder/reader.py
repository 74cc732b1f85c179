"""Parse recorder files: the info header, then id/size-prefixed packets.

Packets are yielded as views into the file's bytes; decoding happens per packet, so
a query only pays for the packets it reads. Unknown ids are skipped by their size.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from runner.recorder import format as fmt

Bytes = bytes | memoryview


class NotARecorderFile(ValueError):
    """The file does not start with a CARLA recorder info header."""


@dataclass(frozen=True, slots=True)
class Info:
    version: int
    magic: str
    date: int  # seconds since 1970-01-01 UTC
    map_name: str


class Frame(NamedTuple):
    id: int
    duration_this: float  # [s]; -1 for the last frame of a file
    elapsed: float  # [s] since the recording started


class Attribute(NamedTuple):
    type: int
    id: str
    value: str


class EventAdd(NamedTuple):
    id: int
    type: int
    location: tuple[float, float, float]  # [cm]
    rotation: tuple[float, float, float]  # (roll, pitch, yaw) [deg]
    uid: int
    type_id: str
    attributes: tuple[Attribute, ...]


class Packet(NamedTuple):
    id: int
    data: memoryview


def read_info(data: Bytes) -> tuple[Info, int]:
    """The info header and the offset of the first packet."""
    try:
        (version,) = fmt.U16.unpack_from(data, 0)
        magic, offset = fmt.decode_string(data, 2)
        (date,) = fmt.I64.unpack_from(data, offset)
        map_name, offset = fmt.decode_string(data, offset + 8)
    except (struct.error, ValueError) as exc:
        raise NotARecorderFile("File is not a CARLA recorder") from exc
    if magic != fmt.MAGIC:
        raise NotARecorderFile("File is not a CARLA recorder")
    return Info(version, magic, date, map_name), offset


def iter_packets(data: Bytes, offset: int) -> Iterator[Packet]:
    """Every whole packet from `offset`; a truncated tail is ignored."""
    view = memoryview(data)
    end = len(view)
    while offset + fmt.HEADER_SIZE <= end:
        packet_id, size = fmt.HEADER.unpack_from(view, offset)
        start = offset + fmt.HEADER_SIZE
        offset = start + size
        if offset > end:
            return
        yield Packet(packet_id, view[start:offset])


def read_frame(data: Bytes) -> Frame:
    return Frame(*fmt.FRAME.unpack_from(data, 0))


def read_count(data: Bytes) -> int:
    return int(fmt.U16.unpack_from(data, 0)[0]) if len(data) >= 2 else 0


def read_records(data: Bytes, record: struct.Struct) -> list[tuple[Any, ...]]:
    """A `u16 count` + fixed-size records packet (most of them)."""
    count = read_count(data)
    size = record.size
    if 2 + count * size > len(data):
        raise ValueError(f"packet of {len(data)} bytes cannot hold {count} records")
    return [record.unpack_from(data, 2 + i * size) for i in range(count)]


def read_ids(data: Bytes) -> list[int]:
    return [r[0] for r in read_records(data, fmt.U32)]


def read_event_adds(data: Bytes) -> list[EventAdd]:
    count = read_count(data)
    offset = 2
    events = []
    for _ in range(count):
        head = fmt.ADD_HEAD.unpack_from(data, offset)
        type_id, offset = fmt.decode_string(data, offset + fmt.ADD_HEAD.size)
        (n_attr,) = fmt.U16.unpack_from(data, offset)
        offset += 2
        attributes = []
        for _ in range(n_attr):
            attr_type = data[offset]
            attr_id, offset = fmt.decode_string(data, offset + 1)
            value, offset = fmt.decode_string(data, offset)
            attributes.append(Attribute(attr_type, attr_id, value))
        events.append(
            EventAdd(head[0], head[1], head[2:5], head[5:8], head[8], type_id, tuple(attributes))
        )
    return events


class Bone(NamedTuple):
    name: str
    location: tuple[float, ...]
    rotation: tuple[float, ...]


def read_walker_bones(data: Bytes) -> list[tuple[int, list[Bone]]]:
    count = read_count(data)
    offset = 2
    walkers = []
    for _ in range(count):
        walker_id, n_bones = struct.unpack_from("<IH", data, offset)
        offset += 6
        bones = []
        for _ in range(n_bones):
            name, offset = fmt.decode_string(data, offset)
            values = fmt.BONE.unpack_from(data, offset)
            offset += fmt.BONE.size
            bones.append(Bone(name, values[:3], values[3:]))
        walkers.append((walker_id, bones))
    return walkers


@dataclass(slots=True)
class PhysicsControl:
    """One PhysicsControl record: the head fields then four raw arrays."""

    id: int
    head: tuple[Any, ...]  # max_rpm, moi, 3 damping rates, autobox, clutch, final, mass, drag, com
    torque_curve: list[tuple[float, ...]] = field(default_factory=list)
    forward_gears: list[tuple[float, ...]] = field(default_factory=list)
    steering_curve: list[tuple[float, ...]] = field(default_factory=list)
    wheels: list[tuple[float, ...]] = field(default_factory=list)


def _read_array(data: Bytes, offset: int, record: struct.Struct) -> tuple[list[Any], int]:
    (count,) = fmt.U32.unpack_from(data, offset)
    offset += 4
    items = [record.unpack_from(data, offset + i * record.size) for i in range(count)]
    return items, offset + count * record.size


_PAIR = struct.Struct("<2f")
_GEAR = struct.Struct("<3f")


def read_physics_controls(data: Bytes) -> list[PhysicsControl]:
    count = read_count(data)
    offset = 2
    controls = []
    for _ in range(count):
        head = fmt.PHYSICS_HEAD.unpack_from(data, offset)
        control = PhysicsControl(head[0], head[1:])
        offset += fmt.PHYSICS_HEAD.size
        control.torque_curve, offset = _read_array(data, offset, _PAIR)
        control.forward_gears, offset = _read_array(data, offset, _GEAR)
        control.steering_curve, offset = _read_array(data, offset, _PAIR)
        control.wheels, offset = _read_array(data, offset, fmt.PHYSICS_WHEEL)
        controls.append(control)
    return controls


@dataclass(slots=True)
class FrameRecord:
    """One FrameStart…FrameEnd group: the frame and its packets (FrameEnd excluded)."""

    frame: Frame
    packets: list[Packet]


def iter_frames(data: Bytes, offset: int) -> Iterator[FrameRecord]:
    """Group packets by frame; packets before the first FrameStart are dropped."""
    current: FrameRecord | None = None
    for packet in iter_packets(data, offset):
        if packet.id == fmt.PacketId.FRAME_START:
            if current is not None:
                yield current
            current = FrameRecord(read_frame(packet.data), [])
        elif packet.id != fmt.PacketId.FRAME_END and current is not None:
            current.packets.append(packet)
    if current is not None:
        yield current
