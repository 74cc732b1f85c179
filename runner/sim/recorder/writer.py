"""Write CARLA recorder files from the embedded world's actor records.

Lifecycle: OPEN (header written) → frames → CLOSED. Each frame is built in one
bytearray with `pack_into` and written with one call when the next frame starts,
because its `duration_this` is only known then (CARLA back-patches it; the last
frame keeps -1). Units become UE's: centimetres, rotations (roll, pitch, yaw).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO

from runner.recorder import format as fmt
from runner.recorder.format import PacketId
from runner.sim.world.actors import Actor, ActorKind

Row = tuple[Any, ...]
CM_PER_M = 100.0
ACTOR_TYPES = {
    ActorKind.VEHICLE: fmt.ActorType.VEHICLE,
    ActorKind.WALKER: fmt.ActorType.WALKER,
    ActorKind.TRAFFIC_LIGHT: fmt.ActorType.TRAFFIC_LIGHT,
    ActorKind.TRAFFIC_SIGN: fmt.ActorType.TRAFFIC_SIGN,
    ActorKind.SENSOR: fmt.ActorType.SENSOR,
}
_POSED = {fmt.ActorType.OTHER, fmt.ActorType.VEHICLE, fmt.ActorType.WALKER}
_DURATION_AT = fmt.HEADER_SIZE + 8  # offset of duration_this inside a frame's bytes
_UNKNOWN_DURATION = -1.0


def actor_type(actor: Actor) -> int:
    return ACTOR_TYPES.get(actor.kind, fmt.ActorType.OTHER)


def ue_pose(actor: Actor) -> tuple[float, float, float, float, float, float]:
    """Location [cm] and UE Euler rotation (roll, pitch, yaw) [deg]."""
    t = actor.transform
    return (t.x * CM_PER_M, t.y * CM_PER_M, t.z * CM_PER_M, t.roll, t.pitch, t.yaw)


class PacketBuffer:
    """A growing frame: packets appended with their 5-byte headers patched in."""

    def __init__(self) -> None:
        self.data = bytearray()

    def begin(self, packet_id: int) -> int:
        start = len(self.data)
        self.data += b"\0" * fmt.HEADER_SIZE
        self.data[start] = packet_id
        return start

    def end(self, start: int) -> None:
        size = len(self.data) - start - fmt.HEADER_SIZE
        fmt.U32.pack_into(self.data, start + 1, size)

    def raw(self, packet_id: int, payload: bytes) -> None:
        self.data += fmt.HEADER.pack(packet_id, len(payload)) + payload

    def records(self, packet_id: int, record: struct.Struct, rows: Sequence[Row]) -> None:
        """`u16 count` + fixed-size records, packed in place."""
        size = record.size
        self.data += fmt.HEADER.pack(packet_id, 2 + len(rows) * size) + fmt.U16.pack(len(rows))
        offset = len(self.data)
        self.data += bytes(len(rows) * size)
        pack_into, data = record.pack_into, self.data
        for row in rows:
            pack_into(data, offset, *row)
            offset += size


def event_add_record(actor: Actor) -> bytes:
    """One EventAdd record: id, type, pose, uid, type_id and attributes."""
    # uid 0: CARLA's blueprint UIds follow its own dispatcher order, which we lack.
    parts = [fmt.ADD_HEAD.pack(actor.id, actor_type(actor), *ue_pose(actor), 0)]
    parts.append(fmt.encode_string(actor.type_id))
    parts.append(fmt.U16.pack(len(actor.attributes)))
    for attr_id, (attr_type, value) in actor.attributes.items():
        parts.append(bytes((attr_type & 0xFF,)))
        parts.append(fmt.encode_string(attr_id))
        parts.append(fmt.encode_string(value))
    return b"".join(parts)


class FrameRows:
    """One pass over the actors, sorted into the per-frame packets' records."""

    def __init__(self) -> None:
        self.positions: list[Row] = []
        self.states: list[Row] = []
        self.vehicles: list[Row] = []
        self.walkers: list[Row] = []
        self.lights: list[Row] = []
        self.kinematics: list[Row] = []
        self.boxes: list[Row] = []
        self.walker_ids: list[int] = []

    def add(self, actor: Actor, kind: int, extra: bool) -> None:
        if kind in _POSED:
            self.positions.append((actor.id, *ue_pose(actor)))
        if kind == fmt.ActorType.VEHICLE and actor.vehicle is not None:
            c = actor.vehicle.control
            self.vehicles.append((actor.id, c.steer, c.throttle, c.brake, c.hand_brake, c.gear))
            self.lights.append((actor.id, actor.vehicle.light_state))
        elif kind == fmt.ActorType.WALKER:
            vx, vy, vz = actor.velocity
            self.walkers.append((actor.id, (vx * vx + vy * vy + vz * vz) ** 0.5 * CM_PER_M))
            self.walker_ids.append(actor.id)
        elif kind == fmt.ActorType.TRAFFIC_LIGHT and actor.traffic_light is not None:
            tl = actor.traffic_light
            self.states.append((actor.id, tl.frozen, tl.elapsed_time, int(tl.state)))
        if extra and kind in (fmt.ActorType.VEHICLE, fmt.ActorType.WALKER):
            self.kinematics.append((actor.id, *actor.velocity, *actor.angular_velocity))
            box = actor.bounding_box
            center = tuple(v * CM_PER_M for v in box.center)
            extent = tuple(v * CM_PER_M for v in box.extent)
            self.boxes.append((actor.id, *center, *extent))


class Recorder:
    """One open recorder file. Not thread-safe: the simulator calls it under its lock."""

    def __init__(
        self, file: BinaryIO, map_name: str, additional_data: bool, date: int | None = None
    ) -> None:
        self._file = file
        self.additional_data = additional_data
        self._known: set[int] = set()
        self._pending: bytearray | None = None
        self._frame_id = 0
        self._elapsed = 0.0
        self._next_collision_id = 0
        self._light_times: dict[int, tuple[float, float, float]] = {}
        self._started_wall = time.monotonic()
        stamp = int(time.time()) if date is None else date
        header = fmt.U16.pack(fmt.VERSION) + fmt.encode_string(fmt.MAGIC)
        header += fmt.I64.pack(stamp) + fmt.encode_string(map_name)
        file.write(header)

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write_frame(
        self,
        delta_s: float,
        actors: Mapping[int, Actor],
        collisions: Iterable[tuple[int, int]] = (),
        game_time_s: float = 0.0,
    ) -> None:
        """Record this step: events since the last frame, poses and states of now.

        `delta_s` is the step that led here (ignored for the first frame, elapsed 0);
        `collisions` are (actor id, other id) pairs, other = NON_ACTOR_ID for the world.
        """
        if self._frame_id:
            self._elapsed += delta_s
            self._flush(delta_s)
        self._frame_id += 1
        buf = PacketBuffer()
        buf.raw(PacketId.FRAME_START, fmt.FRAME.pack(self._frame_id, -1.0, self._elapsed))
        buf.raw(PacketId.VISUAL_TIME, fmt.F64.pack(game_time_s))
        self._events(buf, actors)
        self._collisions(buf, actors, collisions)
        buf.records(PacketId.VEHICLE_DOOR, fmt.DOOR, [])
        self._states(buf, actors)
        buf.raw(PacketId.FRAME_END, b"")
        self._pending = buf.data

    def close(self) -> None:
        """Write the last frame (duration_this stays -1) and close the file."""
        if self._file.closed:
            return
        try:
            self._flush(None)
        finally:
            self._file.close()

    def _flush(self, next_delta_s: float | None) -> None:
        if self._pending is None:
            return
        if next_delta_s is not None:
            fmt.F64.pack_into(self._pending, _DURATION_AT, next_delta_s)
        self._file.write(self._pending)
        self._pending = None

    def _events(self, buf: PacketBuffer, actors: Mapping[int, Actor]) -> None:
        known = self._known
        added = [a for i, a in actors.items() if i not in known]
        gone = sorted(i for i in known if i not in actors)
        known.difference_update(gone)
        known.update(a.id for a in added)
        start = buf.begin(PacketId.EVENT_ADD)
        buf.data += fmt.U16.pack(len(added)) + b"".join(event_add_record(a) for a in added)
        buf.end(start)
        buf.records(PacketId.EVENT_DEL, fmt.U32, [(i,) for i in gone])
        parents = [(a.id, a.parent_id) for a in added if a.parent_id]
        buf.records(PacketId.EVENT_PARENT, fmt.PARENT, parents)

    def _collisions(
        self,
        buf: PacketBuffer,
        actors: Mapping[int, Actor],
        pairs: Iterable[tuple[int, int]],
    ) -> None:
        """One record per ordered pair and frame, as CARLA's unordered_set keeps them."""
        rows: dict[tuple[int, int], Row] = {}
        for id1, id2 in pairs:
            collision_id = self._next_collision_id
            self._next_collision_id += 1
            if (id1, id2) not in rows:
                rows[(id1, id2)] = (collision_id, id1, id2, _hero(actors, id1), _hero(actors, id2))
        buf.records(PacketId.COLLISION, fmt.COLLISION, list(rows.values()))

    def _states(self, buf: PacketBuffer, actors: Mapping[int, Actor]) -> None:
        extra = self.additional_data
        rows = FrameRows()
        for actor in actors.values():
            rows.add(actor, actor_type(actor), extra)
        buf.records(PacketId.POSITION, fmt.POSITION, rows.positions)
        buf.records(PacketId.STATE, fmt.STATE, rows.states)
        buf.records(PacketId.ANIM_VEHICLE, fmt.ANIM_VEHICLE, rows.vehicles)
        buf.records(PacketId.ANIM_WALKER, fmt.ANIM_WALKER, rows.walkers)
        buf.records(PacketId.VEHICLE_LIGHT, fmt.VEHICLE_LIGHT, rows.lights)
        buf.records(PacketId.ANIM_VEHICLE_WHEELS, fmt.U32, [])
        buf.records(PacketId.ANIM_BIKER, fmt.BIKER, [])
        if extra:
            self._additional(buf, actors, rows)

    def _additional(self, buf: PacketBuffer, actors: Mapping[int, Actor], rows: FrameRows) -> None:
        """Packets of `additional_data=True`, in 0.9.16's order (no physics controls)."""
        if rows.kinematics:
            buf.records(PacketId.KINEMATICS, fmt.KINEMATICS, rows.kinematics)
        buf.records(PacketId.BOUNDING_BOX, fmt.BOX, rows.boxes)
        platform_s = time.monotonic() - self._started_wall
        buf.raw(PacketId.PLATFORM_TIME, fmt.F64.pack(platform_s))
        times = self._changed_light_times(actors)
        if times:
            buf.records(PacketId.TRAFFIC_LIGHT_TIME, fmt.TRAFFIC_LIGHT_TIME, times)
        bones = b"".join(struct.pack("<IH", i, 0) for i in rows.walker_ids)
        buf.raw(PacketId.WALKER_BONES, fmt.U16.pack(len(rows.walker_ids)) + bones)

    def _changed_light_times(self, actors: Mapping[int, Actor]) -> list[Row]:
        changed: list[Row] = []
        for actor in actors.values():
            tl = actor.traffic_light
            if tl is None:
                continue
            times = (tl.green_time, tl.yellow_time, tl.red_time)
            if self._light_times.get(actor.id) != times:
                self._light_times[actor.id] = times
                changed.append((actor.id, *times))
        return changed


def _hero(actors: Mapping[int, Actor], actor_id: int) -> bool:
    actor = actors.get(actor_id)
    return actor is not None and actor.role_name == "hero"
