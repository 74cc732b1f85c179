"""Collision events: what `carla.CollisionEvent` is built from.

The payload carries whole `Actor` records (carla-protocol.md 3.2), the same msgpack
arrays the RPC layer answers with; the client builds `event.actor` and
`event.other_actor` from them, so the caller passes records it already built
(`runner.sim.protocol.codec.actor_record`). This module only packs them.
"""

from __future__ import annotations

from typing import Any

import msgpack

from runner.sim.sensors.header import sensor_header
from runner.sim.sensors.registry import SensorType
from runner.sim.world.geometry import Transform, Vec3

WORLD_HIT_ACTOR_ID = 0


def collision_payload(
    frame: int,
    timestamp: float,
    transform: Transform,
    self_actor_record: list[Any],
    other_actor_record: list[Any],
    normal_impulse: Vec3,
) -> bytes:
    """Header + msgpack [self Actor, other Actor, [x, y, z]].

    `self_actor_record` is the sensor's parent, `normal_impulse` is in N*s (CARLA
    scales Unreal's impulse by 0.01), `transform` is the sensor's world pose.
    """
    impulse = [float(v) for v in normal_impulse]
    body = [self_actor_record, other_actor_record, impulse]
    packed: bytes = msgpack.packb(body, use_bin_type=True, use_single_float=False)
    return sensor_header(SensorType.COLLISION, frame, timestamp, transform) + packed


def world_hit_record(tag_name: str = "other", semantic_tags: bytes = b"") -> list[Any]:
    """`Actor` record for something that is not an actor (a building, the road, a pole).

    CARLA describes such a hit the way its episode serializes an unregistered Unreal
    actor: id 0, no parent, blueprint id `static.<semantic tag name>` (e.g.
    `static.building`), its semantic tags, no stream token. The client turns it into
    a plain `carla.Actor` with id 0 rather than failing. The box is left zero: the
    embedded world has no per-object bounds for static geometry.
    """
    zero = [0.0, 0.0, 0.0]
    description = [0, f"static.{tag_name}", []]
    box = [zero, zero, zero, WORLD_HIT_ACTOR_ID]
    return [WORLD_HIT_ACTOR_ID, 0, description, box, bytes(semantic_tags), b""]
