"""The world-state frame (stream 1): the client's only source of poses and dynamic state.

Layout (carla-protocol.md section 8): 48-byte sensor header with sensor_type 17, a
36-byte episode header, then one packed 119-byte record per live actor. Every live
actor must be in every frame, or the client reads uninitialised memory for it.
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
    head = _HEADER.size + _EPISODE.size
    buf = bytearray(head + RECORD_SIZE * len(actors))
    _HEADER.pack_into(buf, 0, WORLD_OBSERVER_SENSOR_TYPE, frame, elapsed_s, 0, 0, 0, 0, 0, 0)
    _EPISODE.pack_into(
        buf, _HEADER.size, episode_id, platform_time_s, delta_s, 0, 0, 0, simulation_state
    )
    offset = head
    for actor in actors:
        _pack_actor(buf, offset, actor)
        offset += RECORD_SIZE
    return bytes(buf)


def _pack_actor(buf: bytearray, offset: int, a: Actor) -> None:
    t = a.transform
    _COMMON.pack_into(
        buf,
        offset,
        a.id,
        ACTIVE,
        t.x,
        t.y,
        t.z,
        t.pitch,
        t.yaw,
        t.roll,
        *a.velocity,
        *a.angular_velocity,
        *a.acceleration,
    )
    union = offset + _COMMON.size
    if a.kind is ActorKind.VEHICLE and a.vehicle is not None:
        v = a.vehicle
        c = v.control
        _VEHICLE.pack_into(
            buf,
            union,
            c.throttle,
            c.steer,
            c.brake,
            c.hand_brake,
            c.reverse,
            c.manual_gear_shift,
            c.gear,
            v.speed_limit_kmh,
            int(v.traffic_light_state),
            v.traffic_light_id != 0,
            v.traffic_light_id,
            v.failure_state,
        )
    elif a.kind is ActorKind.TRAFFIC_LIGHT and a.traffic_light is not None:
        tl = a.traffic_light
        _TRAFFIC_LIGHT.pack_into(
            buf,
            union,
            tl.opendrive_id.encode()[:31],
            tl.green_time,
            tl.yellow_time,
            tl.red_time,
            tl.elapsed_time,
            tl.pole_index,
            tl.frozen,
            int(tl.state),
        )
    elif a.kind is ActorKind.TRAFFIC_SIGN:
        _SIGN.pack_into(buf, union, a.sign_id.encode()[:31])
