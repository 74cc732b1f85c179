"""CARLA 0.9.16 semantic tags by name, and the CityScapes palette (carla-sensors.md §5).

Names are the documentation's, lower case with spaces ("traffic sign"); the
`carla.CityObjectLabel` spellings ("TrafficSigns", "Pedestrians") are accepted too.
"""

from __future__ import annotations

TAG_NAMES: tuple[str, ...] = (
    "unlabeled", "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
    "traffic sign", "vegetation", "terrain", "sky", "pedestrian", "rider", "car", "truck",
    "bus", "train", "motorcycle", "bicycle", "static", "dynamic", "other", "water",
    "road line", "ground", "bridge", "rail track", "guard rail",
)  # fmt: skip
"""Index = tag id (0..28)."""

_LABEL_NAMES = (
    "NONE", "Roads", "Sidewalks", "Buildings", "Walls", "Fences", "Poles", "TrafficLight",
    "TrafficSigns", "Vegetation", "Terrain", "Sky", "Pedestrians", "Rider", "Car", "Truck",
    "Bus", "Train", "Motorcycle", "Bicycle", "Static", "Dynamic", "Other", "Water",
    "RoadLines", "Ground", "Bridge", "RailTrack", "GuardRail",
)  # fmt: skip
"""carla.CityObjectLabel member names, same order."""

DEFAULT_CLASSES = (
    "car", "truck", "bus", "motorcycle", "bicycle", "pedestrian", "rider",
    "traffic light", "traffic sign",
)  # fmt: skip

CITYSCAPES_RGB: tuple[tuple[int, int, int], ...] = (
        (0, 0, 0), (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156),
        (190, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35),
        (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142),
        (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
        (110, 190, 160), (170, 120, 50), (55, 90, 80), (45, 60, 150), (157, 234, 50),
        (81, 0, 81), (150, 100, 100), (230, 150, 140), (180, 165, 180),
)  # fmt: skip
"""CARLA 0.9.16 CityScapes palette (RGB) indexed by semantic tag; 29 entries (plain data:
validation imports this module, and must not pull in numpy)."""


def _key(name: str) -> str:
    return name.lower().replace(" ", "").replace("_", "")


_BY_KEY = {_key(n): i for i, n in enumerate(TAG_NAMES)} | {
    _key(n): i for i, n in enumerate(_LABEL_NAMES)
}


def tag_id(name: str) -> int | None:
    """The tag id of a name ("traffic sign", "TrafficSigns", "traffic_sign"), else None."""
    return _BY_KEY.get(_key(name))
