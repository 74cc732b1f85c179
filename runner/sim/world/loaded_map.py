"""A map ready for simulation: CARLA's road logic plus what we derive from it once.

Derived data (spawn points, traffic-light specs, the road index used by physics) is
built when the map loads and shared by every episode on that map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.sim.world.geometry import Transform
from runner.sim.world.map_spawn import spawn_points
from runner.sim.world.maps import MapSource, geo_reference, load_carla_map, map_info_name
from runner.sim.world.road_state import RoadIndex
from runner.sim.world.traffic_lights import LightSpec, traffic_light_groups

SIGN_TYPES = {"206": "traffic.stop", "205": "traffic.yield"}
SPEED_LIMIT_TYPE = "274"


@dataclass(frozen=True)
class SignSpec:
    """A non-light traffic sign landmark, spawned as a `traffic.*` actor."""

    opendrive_id: str
    type_id: str
    transform: Transform


@dataclass(frozen=True, eq=False)
class LoadedMap:
    source: MapSource
    carla_map: Any  # carla.Map; typed loosely so importing this module needs no carla
    spawn_points: tuple[Transform, ...]
    geo_reference: tuple[float, float, float]
    lights: tuple[LightSpec, ...]
    signs: tuple[SignSpec, ...]
    road_index: RoadIndex

    @property
    def info_name(self) -> str:
        return map_info_name(self.source.name)


def load_map(source: MapSource) -> LoadedMap:
    carla_map = load_carla_map(source)
    lights = tuple(traffic_light_groups(carla_map))
    return LoadedMap(
        source=source,
        carla_map=carla_map,
        spawn_points=tuple(spawn_points(carla_map)),
        geo_reference=geo_reference(source.xodr),
        lights=lights,
        signs=tuple(_signs(carla_map)),
        road_index=RoadIndex(carla_map, lights),
    )


def _signs(carla_map: Any) -> list[SignSpec]:
    """Stop, yield and speed-limit signs, one per OpenDRIVE signal (references deduped)."""
    seen: set[str] = set()
    signs = []
    for lm in carla_map.get_all_landmarks():
        if lm.id in seen:
            continue
        if lm.type in SIGN_TYPES:
            type_id = SIGN_TYPES[lm.type]
        elif lm.type == SPEED_LIMIT_TYPE and lm.value > 0:
            type_id = f"traffic.speed_limit.{round(lm.value)}"
        else:
            continue
        seen.add(lm.id)
        t = lm.transform
        pose = Transform(
            t.location.x, t.location.y, t.location.z, t.rotation.pitch, t.rotation.yaw, 0.0
        )
        signs.append(SignSpec(str(lm.id), type_id, pose))
    return signs
