"""CARLA's msgpack value layouts (carla-protocol.md section 3), both directions.

Structs are arrays in CARLA's MSGPACK_DEFINE_ARRAY order; integers must stay integers
and byte vectors must be msgpack bin, or the client answers `std::bad_cast`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from runner.catalog import WEATHER_FIELDS
from runner.sim.world.actors import Actor, VehicleControl
from runner.sim.world.geometry import BoundingBox, Transform, Vec3
from runner.sim.world.settings import EpisodeSettings


class DecodeError(ValueError):
    """An argument did not have the layout the 0.9.16 client sends."""


def vec3(v: Vec3) -> list[float]:
    return [float(v[0]), float(v[1]), float(v[2])]


def transform(t: Transform) -> list[list[float]]:
    return [[t.x, t.y, t.z], [t.pitch, t.yaw, t.roll]]


def parse_vec3(value: Any) -> Vec3:
    try:
        x, y, z = value[:3]
        return (float(x), float(y), float(z))
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"expected [x, y, z], got {value!r:.60}") from exc


def parse_transform(value: Any) -> Transform:
    try:
        (x, y, z), (pitch, yaw, roll) = value[0][:3], value[1][:3]
        return Transform(float(x), float(y), float(z), float(pitch), float(yaw), float(roll))
    except (TypeError, ValueError, IndexError) as exc:
        raise DecodeError(f"expected a Transform, got {value!r:.60}") from exc


def bounding_box(
    box: BoundingBox, actor_id: int = 0, rotation: Vec3 = (0.0, 0.0, 0.0)
) -> list[Any]:
    return [vec3(box.center), vec3(box.extent), vec3(rotation), actor_id]


ZERO_BOX = bounding_box(BoundingBox())


def attribute_values(actor: Actor) -> list[list[Any]]:
    return [[name, kind, value] for name, (kind, value) in actor.attributes.items()]


def actor_record(actor: Actor, token: bytes) -> list[Any]:
    """`Actor` as spawn and `get_actors_by_id` return it."""
    description = [0, actor.type_id, attribute_values(actor)]
    return [
        actor.id,
        actor.parent_id,
        description,
        bounding_box(actor.bounding_box, actor.id),
        actor.semantic_tags,
        token,
    ]


def parse_description(value: Any) -> tuple[str, dict[str, str]]:
    """`ActorDescription` → (blueprint id, attribute values)."""
    try:
        _uid, type_id, attrs = value[:3]
        return str(type_id), {str(a[0]): str(a[2]) for a in attrs}
    except (TypeError, ValueError, IndexError) as exc:
        raise DecodeError(f"expected an ActorDescription, got {value!r:.60}") from exc


def episode_settings(s: EpisodeSettings) -> list[Any]:
    fixed = [True, float(s.fixed_delta_seconds)] if s.fixed_delta_seconds else [False]
    return [
        s.synchronous_mode,
        s.no_rendering_mode,
        fixed,
        s.substepping,
        float(s.max_substep_delta_time),
        int(s.max_substeps),
        float(s.max_culling_distance),
        s.deterministic_ragdolls,
        float(s.tile_stream_distance),
        float(s.actor_active_distance),
        s.spectator_as_ego,
    ]


def parse_settings(value: Any) -> EpisodeSettings:
    defaults = astuple(EpisodeSettings())
    v = list(value) + list(defaults[len(value) :])
    fixed = v[2]
    fixed_delta = float(fixed[1]) if isinstance(fixed, list) and len(fixed) == 2 else None
    return EpisodeSettings(
        synchronous_mode=bool(v[0]),
        no_rendering_mode=bool(v[1]),
        fixed_delta_seconds=fixed_delta if fixed_delta else None,
        substepping=bool(v[3]),
        max_substep_delta_time=float(v[4]),
        max_substeps=int(v[5]),
        max_culling_distance=float(v[6]),
        deterministic_ragdolls=bool(v[7]),
        tile_stream_distance=float(v[8]),
        actor_active_distance=float(v[9]),
        spectator_as_ego=bool(v[10]),
    )


def weather(w: dict[str, float]) -> list[float]:
    return [float(w[f]) for f in WEATHER_FIELDS]


def parse_weather(value: Sequence[Any], current: dict[str, float]) -> dict[str, float]:
    out = dict(current)
    for name, v in zip(WEATHER_FIELDS, value, strict=False):
        out[name] = float(v)
    return out


def parse_vehicle_control(value: Any) -> VehicleControl:
    try:
        v = list(value) + [0.0, 0.0, 0.0, False, False, False, 0][len(value) :]
        return VehicleControl(
            throttle=min(1.0, max(0.0, float(v[0]))),
            steer=min(1.0, max(-1.0, float(v[1]))),
            brake=min(1.0, max(0.0, float(v[2]))),
            hand_brake=bool(v[3]),
            reverse=bool(v[4]),
            manual_gear_shift=bool(v[5]),
            gear=int(v[6]),
        )
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"expected a VehicleControl, got {value!r:.60}") from exc
