"""A map ready for simulation: CARLA's road logic plus what we derive from it once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.sim.world.geometry import Transform
from runner.sim.world.map_spawn import spawn_points
from runner.sim.world.maps import MapSource, geo_reference, load_carla_map, map_info_name


@dataclass(frozen=True)
class LoadedMap:
    source: MapSource
    carla_map: Any  # carla.Map; typed loosely so importing this module needs no carla
    spawn_points: tuple[Transform, ...]
    geo_reference: tuple[float, float, float]

    @property
    def info_name(self) -> str:
        return map_info_name(self.source.name)


def load_map(source: MapSource) -> LoadedMap:
    carla_map = load_carla_map(source)
    return LoadedMap(
        source=source,
        carla_map=carla_map,
        spawn_points=tuple(spawn_points(carla_map)),
        geo_reference=geo_reference(source.xodr),
    )
