"""The world-state frame (stream 1): the client's only source of poses and dynamic state.

Layout (carla-protocol.md section 8): 48-byte sensor header with sensor_type 17, a
36-byte episode header, then one packed 119-byte record per live actor. Every live
actor must be in every frame, or the client reads uninitialised memory for it.

The frame goes out every tick with every actor in it, so it is packed by one
`struct.Struct` for the whole frame (compiled once per sequence of record kinds) from
one flat list of values: one C call converts them all, instead of one call per actor.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from runner.sim.world.actors import Actor, ActorKind

WORLD_OBSERVER_SENSOR_TYPE = 17
RECORD_SIZE = 119

_HEADER = struct.Struct("<QQd6f")
_EPISODE = struct.Struct("<Qdf3iI")
_COMMON = struct.Struct("<IB6f3f3f3f")
_VEHICLE = struct.Struct("<3f???if B?IB")
_TRAFFIC_LIGHT = struct.Struct("<32s4fI?B")
_SIGN = struct.Struct("<32s")
_WALKER = struct.Struct("<3ff?")
_UNION_SIZE = RECORD_SIZE - _COMMON.size
ACTIVE = 1

assert _COMMON.size == 65 and _TRAFFIC_LIGHT.size == _UNION_SIZE


def _record_format(union: struct.Struct) -> str:
    """One whole record: the common part, the union, zero padding up to RECORD_SIZE."""
    pad = _UNION_SIZE - union.size
    return _COMMON.format[1:] + union.format[1:] + (f"{pad}x" if pad else "")


# Record kinds, one letter each: the key of the frame's compiled Struct.
_RECORDS = {
    "v": _record_format(_VEHICLE),
    "t": _record_format(_TRAFFIC_LIGHT),
    "s": _record_format(_SIGN),
    "c": _COMMON.format[1:] + f"{_UNION_SIZE}x",  # no union data: zeros
}
_FRAME_HEAD = "<" + _HEADER.format[1:] + _EPISODE.format[1:]
_FRAMES: dict[str, struct.Struct] = {}  # record kinds -> Struct of the whole frame
_FRAMES_KEPT = 4
_VEHICLE_KIND = ActorKind.VEHICLE
_LIGHT_KIND = ActorKind.TRAFFIC_LIGHT
_SIGN_KIND = ActorKind.TRAFFIC_SIGN

assert all(struct.calcsize("<" + f) == RECORD_SIZE for f in _RECORDS.values())


def encode_frame(
    frame: int,
    elapsed_s: float,
    episode_id: int,
    platform_time_s: float,
    delta_s: float,
    actors: Sequence[Actor],
    simulation_state: int = 0,
) -> bytes:
    """One complete world-state payload (without the stream's length prefix)."""
    values: list[object] = [WORLD_OBSERVER_SENSOR_TYPE, frame, elapsed_s, 0, 0, 0, 0, 0, 0]
    values += (episode_id, platform_time_s, delta_s, 0, 0, 0, simulation_state)
    kinds: list[str] = []
    add = values.extend
    kind_of = kinds.append
    # One pass, attributes read straight into the flat list (cheaper than attrgetter
    # on slotted dataclasses). '?' packs truthiness and 'B' takes an IntEnum as is,
    # so `traffic_light_id` and the states need no conversion.
    for a in actors:
        t = a.transform
        add((a.id, ACTIVE, t.x, t.y, t.z, t.pitch, t.yaw, t.roll))
        add(a.velocity)
        add(a.angular_velocity)
        add(a.acceleration)
        kind = a.kind
        if kind is _VEHICLE_KIND and (v := a.vehicle) is not None:
            c = v.control
            light_id = v.traffic_light_id
            add(
                (
                    c.throttle,
                    c.steer,
                    c.brake,
                    c.hand_brake,
                    c.reverse,
                    c.manual_gear_shift,
                    c.gear,
                    v.speed_limit_kmh,
                    v.traffic_light_state,
                    light_id,  # '?': at a traffic light
                    light_id,
                    v.failure_state,
                )
            )
            kind_of("v")
        elif kind is _LIGHT_KIND and (tl := a.traffic_light) is not None:
            add(
                (
                    tl.opendrive_id.encode()[:31],
                    tl.green_time,
                    tl.yellow_time,
                    tl.red_time,
                    tl.elapsed_time,
                    tl.pole_index,
                    tl.frozen,
                    tl.state,
                )
            )
            kind_of("t")
        elif kind is _SIGN_KIND:
            values.append(a.sign_id.encode()[:31])
            kind_of("s")
        else:
            kind_of("c")
    return _frame_struct("".join(kinds)).pack(*values)


def _frame_struct(kinds: str) -> struct.Struct:
    """The compiled Struct for a frame of these record kinds; actors change rarely."""
    packer = _FRAMES.get(kinds)
    if packer is None:
        if len(_FRAMES) >= _FRAMES_KEPT:
            _FRAMES.clear()
        packer = struct.Struct(_FRAME_HEAD + "".join(_RECORDS[k] for k in kinds))
        _FRAMES[kinds] = packer
    return packer
