"""The three recorder queries, byte for byte as CARLA 0.9.16's CarlaRecorderQuery.

Quirks are replicated on purpose (carla-recorder.md section 2): the lazy frame line,
stream flags that persist (the collisions footer), the EventDel bug that forgets the
most recently *added* actor, float32 distances in the blocked-actor test.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from runner.recorder import format as fmt
from runner.recorder import packet_text, reader
from runner.recorder.format import PacketId, cpp_float

CATEGORIES = "ovwtha"  # EventAdd type -> query category (TrafficSign reads as 'h')
_POSITIONS = np.dtype([("id", "<u4"), ("loc", "<f4", 3), ("rot", "<f4", 3)])


def _date(date: int) -> str:
    """strftime("%x %X") in the C locale, server local time."""
    try:
        return time.strftime("%m/%d/%y %H:%M:%S", time.localtime(date))
    except (OverflowError, OSError, ValueError):
        return ""


def _open(path: str) -> tuple[str, reader.Info, bytes, int] | str:
    """(preamble, info, data, first packet offset), or the whole answer on failure."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return f"File {path} not found on server\n"
    try:
        info, offset = reader.read_info(data)
    except reader.NotARecorderFile:
        return "File is not a CARLA recorder\n"
    preamble = f"Version: {info.version}\nMap: {info.map_name}\nDate: {_date(info.date)}\n\n"
    return preamble, info, data, offset


def _footer(frame: reader.Frame, duration: str) -> str:
    return f"\nFrames: {frame.id}\nDuration: {duration} seconds\n"


def _fixed0(x: float) -> str:
    return cpp_float(x) if math.isnan(x) else format(x, ".0f")


def _pad(text: str, width: int) -> str:
    """`setw(width) << left`: pads by bytes (C++ strings are UTF-8 bytes), never cuts."""
    return text + " " * max(0, width - len(text.encode("utf-8")))


def _rpad(text: str, width: int) -> str:
    return " " * max(0, width - len(text.encode("utf-8"))) + text


NO_FRAME = reader.Frame(0, 0.0, 0.0)


def file_info(path: str, show_all: bool) -> str:
    """`show_recorder_file_info`: events per frame; everything with show_all."""
    opened = _open(path)
    if isinstance(opened, str):
        return opened
    preamble, _, data, offset = opened
    out = [preamble]
    frame, printed = NO_FRAME, False
    last: reader.Packet | None = None
    for packet in reader.iter_packets(data, offset):
        last = packet
        if packet.id == PacketId.FRAME_START:
            frame = reader.read_frame(packet.data)
            printed = show_all
            if show_all:
                out.append(_frame_line(frame))
            continue
        handler = packet_text.ALWAYS.get(packet.id)
        if handler is None and show_all:
            handler = packet_text.SHOW_ALL.get(packet.id)
        if handler is None:
            continue
        count, text = handler(packet.data)
        if not printed and (count is None or count > 0):
            out.append(_frame_line(frame))
            printed = True
        out.append(text)
    if show_all and last is not None and last.id == PacketId.FRAME_START:
        out.append(_frame_line(frame))  # the read loop's extra pass re-reads the header
    out.append(_footer(frame, cpp_float(frame.elapsed)))
    return "".join(out)


def _frame_line(frame: reader.Frame) -> str:
    return f"Frame {frame.id} at {cpp_float(frame.elapsed)} seconds\n"


COLLISIONS_HEADER = (
    f"{'Time':>8} {'Types':>6} {'Id':>6} {'Actor 1':<35} {'Id':>6} {'Actor 2':<35}\n"
)


def _category(actors: dict[int, tuple[int, str]], actor_id: int) -> str:
    if actor_id == fmt.NON_ACTOR_ID:
        return "o"
    actor_type = actors.get(actor_id, (0, ""))[0]
    return CATEGORIES[actor_type] if actor_type < len(CATEGORIES) else "?"


def _passes(wanted: str, category: str, hero: bool) -> bool:
    return wanted in ("a", category) or (wanted == "h" and hero)


def collisions(path: str, type1: str, type2: str) -> str:
    """`show_recorder_collisions`: new collisions whose two sides pass the filters."""
    opened = _open(path)
    if isinstance(opened, str):
        return opened
    preamble, _, data, offset = opened
    out = [preamble, COLLISIONS_HEADER]
    actors: dict[int, tuple[int, str]] = {}
    last_added: int | None = None
    frame = NO_FRAME
    old: set[tuple[int, int]] = set()
    new: set[tuple[int, int]] = set()
    for packet in reader.iter_packets(data, offset):
        if packet.id == PacketId.FRAME_START:
            frame = reader.read_frame(packet.data)
            old, new = new, set()
        elif packet.id == PacketId.EVENT_ADD:
            for event in reader.read_event_adds(packet.data):
                actors[event.id] = (event.type, event.type_id)
                last_added = event.id
        elif packet.id == PacketId.EVENT_DEL:
            for _ in reader.read_ids(packet.data):
                if last_added is not None:
                    actors.pop(last_added, None)  # CARLA's quirk: not the deleted id
        elif packet.id == PacketId.COLLISION:
            for record in reader.read_records(packet.data, fmt.COLLISION):
                line = _collision_line(record, actors, frame, type1, type2, old, new)
                if line:
                    out.append(line)
    printed = len(out) > 2
    duration = _fixed0(frame.elapsed) if printed else cpp_float(frame.elapsed)
    return "".join(out) + _footer(frame, duration)


def _collision_line(
    record: tuple[int, ...],
    actors: dict[int, tuple[int, str]],
    frame: reader.Frame,
    type1: str,
    type2: str,
    old: set[tuple[int, int]],
    new: set[tuple[int, int]],
) -> str:
    """The line for one Collision record ("" when filtered out or not new)."""
    _, id1, id2, hero1, hero2 = record
    cat1, cat2 = _category(actors, id1), _category(actors, id2)
    if not (_passes(type1, cat1, bool(hero1)) and _passes(type2, cat2, bool(hero2))):
        return ""
    pair = (id1, id2)
    new.add(pair)
    if pair in old:
        return ""
    name1, name2 = actors.get(id1, (0, ""))[1], actors.get(id2, (0, ""))[1]
    return (
        f"{_rpad(_fixed0(frame.elapsed), 8)}   {cat1} {cat2}  {id1:6d} {_pad(name1, 35)}"
        f" {id2:6d} {_pad(name2, 35)}\n"
    )


BLOCKED_HEADER = f"{'Time':>8} {'Id':>6} {'Actor':<35} {'Duration':>10}\n"


class _Stop:
    """Blocked-actor bookkeeping of one actor (CARLA's ReplayerActorInfo)."""

    __slots__ = ("duration", "last", "name", "time")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.last: tuple[float, float, float] = (0.0, 0.0, 0.0)  # [cm], float32 values
        self.time = 0.0
        self.duration = 0.0


def _distances(records: np.ndarray, states: list[_Stop]) -> np.ndarray:
    """`FVector::Distance` in float32, as UE4 computes it, one per record."""
    last = np.array([s.last for s in states], dtype=np.float32).reshape(-1, 3)
    d = records["loc"] - last
    sq = d * d
    return np.asarray(np.sqrt((sq[:, 0] + sq[:, 1]) + sq[:, 2]))


def _blocked_line(actor_id: int, stop: _Stop) -> str:
    return (
        f"{_rpad(_fixed0(stop.time), 8)} {actor_id:6d} {_pad(stop.name, 35)}"
        f" {_rpad(_fixed0(stop.duration), 10)}\n"
    )


def _positions(
    data: reader.Bytes,
    actors: dict[int, _Stop],
    frame: reader.Frame,
    limits: tuple[float, float],
    results: list[tuple[float, str]],
) -> None:
    """Advance every actor of one Position packet; emit the stops that ended."""
    count = reader.read_count(data)
    records = np.frombuffer(data, dtype=_POSITIONS, count=count, offset=2)
    ids = [int(i) for i in records["id"]]
    states = [actors.setdefault(i, _Stop()) for i in ids]
    min_time, min_distance = limits
    for k, dist in enumerate(_distances(records, states).tolist()):
        stop = states[k]
        if dist < min_distance:
            if stop.duration == 0:
                stop.time = frame.elapsed
            stop.duration += frame.duration_this
            continue
        if stop.duration >= min_time:
            results.append((stop.duration, _blocked_line(ids[k], stop)))
        stop.duration = 0.0
        loc = records["loc"][k]
        stop.last = (float(loc[0]), float(loc[1]), float(loc[2]))


def actors_blocked(path: str, min_time: float, min_distance: float) -> str:
    """`show_recorder_actors_blocked`: stops of at least min_time [s] within min_distance [cm]."""
    opened = _open(path)
    if isinstance(opened, str):
        return opened
    preamble, _, data, offset = opened
    actors: dict[int, _Stop] = {}
    results: list[tuple[float, str]] = []
    last_added: int | None = None
    frame = NO_FRAME
    for packet in reader.iter_packets(data, offset):
        if packet.id == PacketId.FRAME_START:
            frame = reader.read_frame(packet.data)
        elif packet.id == PacketId.EVENT_ADD:
            for event in reader.read_event_adds(packet.data):
                actors[event.id] = _Stop(event.type_id)
                last_added = event.id
        elif packet.id == PacketId.EVENT_DEL:
            for _ in reader.read_ids(packet.data):
                if last_added is not None:
                    actors.pop(last_added, None)  # CARLA's quirk: not the deleted id
        elif packet.id == PacketId.POSITION:
            _positions(packet.data, actors, frame, (min_time, min_distance), results)
    for actor_id, stop in actors.items():  # CARLA: hash-map order; here insertion order
        if stop.duration >= min_time:
            results.append((stop.duration, _blocked_line(actor_id, stop)))
    results.sort(key=lambda r: -r[0])  # stable, like std::multimap with greater<>
    body = "".join(line for _, line in results)
    return preamble + BLOCKED_HEADER + body + _footer(frame, cpp_float(frame.elapsed))
