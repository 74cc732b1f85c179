"""Map, blueprint library, actor lookup, weather and scene queries."""

from __future__ import annotations

import functools
from typing import Any

import msgpack

from runner import catalog
from runner.sim.handlers.registry import CallContext, rpc
from runner.sim.protocol import codec
from runner.sim.protocol.rpc import Prepacked
from runner.sim.world.actors import ActorKind
from runner.sim.world.loaded_map import LoadedMap

ROADS, TERRAIN = 1, 10


@functools.lru_cache(maxsize=8)
def _map_info(loaded: LoadedMap) -> Prepacked:
    points = [codec.transform(t) for t in loaded.spawn_points]
    return Prepacked(msgpack.packb([loaded.info_name, points], use_bin_type=True))


@functools.lru_cache(maxsize=8)
def _map_data(loaded: LoadedMap) -> Prepacked:
    return Prepacked(msgpack.packb(loaded.source.xodr, use_bin_type=True))


@functools.lru_cache(maxsize=1)
def _definitions() -> Prepacked:
    defs = [
        [
            0,
            bp.id,
            ",".join(bp.tags),
            [
                [
                    a.id,
                    a.type,
                    a.default,
                    list(a.recommended) if a.modifiable else [],
                    a.modifiable,
                    a.restrict_to_recommended,
                ]
                for a in bp.attributes
            ],
        ]
        for bp in catalog.all_blueprints()
    ]
    return Prepacked(msgpack.packb(defs, use_bin_type=True))


@rpc("get_map_info")
def get_map_info(ctx: CallContext) -> Prepacked:
    return _map_info(ctx.sim.map)


@rpc("get_map_data")
def get_map_data(ctx: CallContext) -> Prepacked:
    return _map_data(ctx.sim.map)


@rpc("get_actor_definitions")
def get_actor_definitions(ctx: CallContext) -> Prepacked:
    return _definitions()


@rpc("get_spectator")
def get_spectator(ctx: CallContext) -> list[Any]:
    spectator = ctx.sim.episode.actors[ctx.sim.episode.spectator_id]
    return codec.actor_record(spectator, b"")


@rpc("get_actors_by_id")
def get_actors_by_id(ctx: CallContext, ids: list[int]) -> list[Any]:
    out = []
    for actor_id in ids:
        actor = ctx.sim.actor(int(actor_id))
        if actor is not None:
            out.append(codec.actor_record(actor, ctx.sim.token(actor.stream_id)))
    return out


@rpc("get_weather_parameters")
def get_weather_parameters(ctx: CallContext) -> list[float]:
    return codec.weather(ctx.sim.episode.weather)


@rpc("set_weather_parameters", "void")
def set_weather_parameters(ctx: CallContext, weather: list[Any]) -> None:
    ctx.sim.set_weather(codec.parse_weather(weather, ctx.sim.episode.weather))


@rpc("get_imui_gravity")
def get_imui_gravity(ctx: CallContext) -> float:
    return ctx.sim.episode.imu_gravity


@rpc("set_imui_gravity", "void")
def set_imui_gravity(ctx: CallContext, gravity: float) -> None:
    ctx.sim.episode.imu_gravity = float(gravity)


@rpc("get_vehicle_light_states")
def get_vehicle_light_states(ctx: CallContext) -> list[list[int]]:
    return [
        [a.id, a.vehicle.light_state]
        for a in ctx.sim.episode.actors.values()
        if a.kind is ActorKind.VEHICLE and a.vehicle is not None
    ]


@rpc("get_names_of_all_objects")
def get_names_of_all_objects(ctx: CallContext) -> list[str]:
    return []


@rpc("get_all_level_BBs")
def get_all_level_bbs(ctx: CallContext, label: int = 255) -> list[Any]:
    return []


@rpc("get_environment_objects")
def get_environment_objects(ctx: CallContext, label: int = 255) -> list[Any]:
    return []


@rpc("enable_environment_objects", "void")
def enable_environment_objects(ctx: CallContext, *_: Any) -> None:
    """No environment objects are exposed, so there is nothing to toggle."""


@rpc("set_annotations_traverse_translucency", "void")
def set_annotations_traverse_translucency(ctx: CallContext, enable: bool) -> None:
    """The embedded scene has no translucent materials; accepted as a no-op."""


@rpc("apply_color_texture_to_objects", "void")
def apply_color_texture_to_objects(ctx: CallContext, *_: Any) -> None:
    """No named level objects exist to texture; accepted as a no-op."""


@rpc("apply_float_color_texture_to_objects", "void")
def apply_float_color_texture_to_objects(ctx: CallContext, *_: Any) -> None:
    """No named level objects exist to texture; accepted as a no-op."""


def _ground(ctx: CallContext, x: float, y: float, z: float) -> tuple[float, int]:
    """Surface height and label under (x, y): the road where there is one, else terrain."""
    import carla

    wp = ctx.sim.map.carla_map.get_waypoint(
        carla.Location(x, y, z), project_to_road=False, lane_type=carla.LaneType.Any
    )
    if wp is None:
        return 0.0, TERRAIN
    return float(wp.transform.location.z), ROADS


@rpc("project_point")
def project_point(ctx: CallContext, location: Any, direction: Any, distance: float) -> list[Any]:
    x, y, z = codec.parse_vec3(location)
    _dx, _dy, dz = codec.parse_vec3(direction)
    if dz >= 0:
        return [False, [[0.0, 0.0, 0.0], 0]]
    ground_z, label = _ground(ctx, x, y, z)
    depth = z - ground_z
    if depth < 0 or depth > float(distance):
        return [False, [[0.0, 0.0, 0.0], 0]]
    return [True, [[x, y, ground_z], label]]


@rpc("cast_ray")
def cast_ray(ctx: CallContext, start: Any, end: Any) -> list[Any]:
    sx, sy, sz = codec.parse_vec3(start)
    ex, ey, ez = codec.parse_vec3(end)
    for i in range(1, 65):
        t = i / 64.0
        x, y, z = sx + (ex - sx) * t, sy + (ey - sy) * t, sz + (ez - sz) * t
        ground_z, label = _ground(ctx, x, y, z)
        if z <= ground_z:
            return [[[x, y, ground_z], label]]
    return []
