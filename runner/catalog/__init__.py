"""The pinned CARLA 0.9.16 catalog: blueprints, weather presets, towns, sensor names.

Pure data with small lookups, shared by the offline scenario validator and the
embedded simulator; it imports neither carla nor numpy.
"""

from runner.catalog.library import all_blueprints, filter_blueprints, find_blueprint
from runner.catalog.maps import BUILTIN_MAPS, CARLA_TOWNS, DEFAULT_MAP
from runner.catalog.sensors import SENSOR_BLUEPRINTS
from runner.catalog.spec import (
    ATTR_BOOL,
    ATTR_FLOAT,
    ATTR_INT,
    ATTR_RGBCOLOR,
    ATTR_STRING,
    AttributeSpec,
    BlueprintSpec,
)
from runner.catalog.weather import (
    DEFAULT_WEATHER,
    WEATHER_FIELDS,
    WEATHER_PRESETS,
    WEATHER_RANGES,
)
from runner.catalog.world_actors import WORLD_ACTOR_TYPES

__all__ = [
    "ATTR_BOOL",
    "ATTR_FLOAT",
    "ATTR_INT",
    "ATTR_RGBCOLOR",
    "ATTR_STRING",
    "BUILTIN_MAPS",
    "CARLA_TOWNS",
    "DEFAULT_MAP",
    "DEFAULT_WEATHER",
    "SENSOR_BLUEPRINTS",
    "WEATHER_FIELDS",
    "WEATHER_PRESETS",
    "WEATHER_RANGES",
    "WORLD_ACTOR_TYPES",
    "AttributeSpec",
    "BlueprintSpec",
    "all_blueprints",
    "filter_blueprints",
    "find_blueprint",
]
