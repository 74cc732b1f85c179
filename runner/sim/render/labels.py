"""CARLA 0.9.16 semantic tags, the CityScapes palette and the albedo of each tag.

The ids are the wire contract (carla-sensors.md section 5); the albedo colours only
decide how the RGB camera looks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

NONE = 0
ROADS = 1
SIDEWALKS = 2
BUILDINGS = 3
WALLS = 4
FENCES = 5
POLES = 6
TRAFFIC_LIGHT = 7
TRAFFIC_SIGNS = 8
VEGETATION = 9
TERRAIN = 10
SKY = 11
PEDESTRIANS = 12
RIDER = 13
CAR = 14
TRUCK = 15
BUS = 16
TRAIN = 17
MOTORCYCLE = 18
BICYCLE = 19
STATIC = 20
DYNAMIC = 21
OTHER = 22
WATER = 23
ROAD_LINES = 24
GROUND = 25

# CityScapes palette of 0.9.16 (RGB), indexed by tag; 29 entries.
CITYSCAPES_RGB: NDArray[np.uint8] = np.array(
    [
        (0, 0, 0),
        (128, 64, 128),
        (244, 35, 232),
        (70, 70, 70),
        (102, 102, 156),
        (190, 153, 153),
        (153, 153, 153),
        (250, 170, 30),
        (220, 220, 0),
        (107, 142, 35),
        (152, 251, 152),
        (70, 130, 180),
        (220, 20, 60),
        (255, 0, 0),
        (0, 0, 142),
        (0, 0, 70),
        (0, 60, 100),
        (0, 80, 100),
        (0, 0, 230),
        (119, 11, 32),
        (110, 190, 160),
        (170, 120, 50),
        (55, 90, 80),
        (45, 60, 150),
        (157, 234, 50),
        (81, 0, 81),
        (150, 100, 100),
        (230, 150, 140),
        (180, 165, 180),
    ],
    dtype=np.uint8,
)

# Base albedo (linear RGB, 0..1) of static scene parts, chosen to read as a street.
ALBEDO: dict[str, tuple[float, float, float]] = {
    "road": (0.045, 0.045, 0.05),
    "shoulder": (0.06, 0.058, 0.055),
    "sidewalk": (0.38, 0.36, 0.33),
    "kerb": (0.50, 0.50, 0.48),
    "line_white": (0.80, 0.80, 0.78),
    "line_yellow": (0.75, 0.55, 0.08),
    "terrain": (0.16, 0.24, 0.08),
    "trunk": (0.18, 0.11, 0.06),
    "foliage": (0.08, 0.22, 0.05),
    "pole": (0.25, 0.26, 0.27),
    "housing": (0.05, 0.05, 0.05),
    "lamp_off": (0.03, 0.03, 0.03),
    "sign": (0.70, 0.70, 0.72),
    "sign_red": (0.65, 0.05, 0.04),
    "crosswalk": (0.75, 0.75, 0.73),
}

BUILDING_PALETTE: tuple[tuple[float, float, float], ...] = (
    (0.45, 0.40, 0.34),
    (0.55, 0.50, 0.45),
    (0.35, 0.22, 0.16),
    (0.60, 0.58, 0.55),
    (0.30, 0.32, 0.36),
    (0.52, 0.44, 0.30),
    (0.25, 0.25, 0.26),
)


def cityscapes_bgra(tags: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """BGRA image of the CityScapes palette for an (H, W) tag array (tag modulo 29)."""
    rgb = CITYSCAPES_RGB[tags.astype(np.intp) % len(CITYSCAPES_RGB)]
    out = np.empty((*tags.shape, 4), dtype=np.uint8)
    out[..., :3] = rgb[..., ::-1]
    out[..., 3] = 255
    return out
