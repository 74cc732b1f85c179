"""CARLA 0.9.16 weather: field order, presets, ranges and the embedded default.

Preset values were read from ``carla.WeatherParameters.<Preset>`` in the installed
0.9.16 wheel (the wheel stores float32, e.g. 0.0331 reads back as 0.0331000015).
A value of -1 in a preset means "leave unchanged"; every preset uses it for
``sun_azimuth_angle`` and ``Default`` uses it for ten fields.
"""

from __future__ import annotations

import math

WEATHER_FIELDS: tuple[str, ...] = (
    "cloudiness",
    "precipitation",
    "precipitation_deposits",
    "wind_intensity",
    "sun_azimuth_angle",
    "sun_altitude_angle",
    "fog_density",
    "fog_distance",
    "fog_falloff",
    "wetness",
    "scattering_intensity",
    "mie_scattering_scale",
    "rayleigh_scattering_scale",
    "dust_storm",
)

_SCATTERING = (1.0, 0.03, 0.0331)  # scattering, mie, rayleigh: equal in every preset

# cloud, precip, deposits, wind, altitude, fog density, fog distance, falloff, wetness, dust
_PRESET_ROWS: dict[str, tuple[float, ...]] = {
    "Default": (-1, -1, -1, -1, -1, -1, -1, -1, -1, 0),
    "ClearNoon": (5, 0, 0, 10, 45, 2, 0.75, 0.1, 0, 0),
    "CloudyNoon": (60, 0, 0, 10, 45, 3, 0.75, 0.1, 0, 0),
    "WetNoon": (5, 0, 50, 10, 45, 3, 0.75, 0.1, 0, 0),
    "WetCloudyNoon": (60, 0, 50, 10, 45, 3, 0.75, 0.1, 0, 0),
    "MidRainyNoon": (60, 60, 60, 60, 45, 3, 0.75, 0.1, 0, 0),
    "HardRainNoon": (100, 100, 90, 100, 45, 7, 0.75, 0.1, 0, 0),
    "SoftRainNoon": (20, 30, 50, 30, 45, 3, 0.75, 0.1, 0, 0),
    "ClearSunset": (5, 0, 0, 10, 15, 2, 0.75, 0.1, 0, 0),
    "CloudySunset": (60, 0, 0, 10, 15, 3, 0.75, 0.1, 0, 0),
    "WetSunset": (5, 0, 50, 10, 15, 2, 0.75, 0.1, 0, 0),
    "WetCloudySunset": (60, 0, 50, 10, 15, 2, 0.75, 0.1, 0, 0),
    "MidRainSunset": (60, 60, 60, 60, 15, 3, 0.75, 0.1, 0, 0),
    "HardRainSunset": (100, 100, 90, 100, 15, 7, 0.75, 0.1, 0, 0),
    "SoftRainSunset": (20, 30, 50, 30, 15, 2, 0.75, 0.1, 0, 0),
    "ClearNight": (5, 0, 0, 10, -90, 60, 75, 1.0, 0, 0),
    "CloudyNight": (60, 0, 0, 10, -90, 60, 0.75, 0.1, 0, 0),
    "WetNight": (5, 0, 50, 10, -90, 60, 75, 1.0, 60, 0),
    "WetCloudyNight": (60, 0, 50, 10, -90, 60, 0.75, 0.1, 60, 0),
    "SoftRainNight": (60, 30, 50, 30, -90, 60, 0.75, 0.1, 60, 0),
    "MidRainyNight": (80, 60, 60, 60, -90, 60, 0.75, 0.1, 80, 0),
    "HardRainNight": (100, 100, 90, 100, -90, 100, 0.75, 0.1, 100, 0),
    "DustStorm": (100, 0, 0, 100, 45, 2, 0.75, 0.1, 0, 100),
}


def _preset(row: tuple[float, ...], sun_azimuth: float = -1.0) -> dict[str, float]:
    """All 14 fields of a preset row, in wire order."""
    cloud, precip, deposits, wind, altitude, density, distance, falloff, wet, dust = row
    values: tuple[float, ...] = (cloud, precip, deposits, wind, sun_azimuth, altitude)
    values += (density, distance, falloff, wet, *_SCATTERING, dust)
    return {name: float(value) for name, value in zip(WEATHER_FIELDS, values, strict=True)}


WEATHER_PRESETS: dict[str, dict[str, float]] = {
    name: _preset(row) for name, row in _PRESET_ROWS.items()
}

# Sun azimuth [deg] of a fresh embedded world.  CARLA's levels bring their own; 45 puts
# shadows diagonal to the mostly axis-aligned town grids, so kerbs and cars stay readable.
DEFAULT_SUN_AZIMUTH_DEG = 45.0

DEFAULT_WEATHER: dict[str, float] = _preset(_PRESET_ROWS["ClearNoon"], DEFAULT_SUN_AZIMUTH_DEG)

_PERCENT = (0.0, 100.0)
_NON_NEGATIVE = (0.0, math.inf)

# Valid ranges for user-supplied values (the -1 "unchanged" sentinel is not a value).
WEATHER_RANGES: dict[str, tuple[float, float]] = {
    "cloudiness": _PERCENT,
    "precipitation": _PERCENT,
    "precipitation_deposits": _PERCENT,
    "wind_intensity": _PERCENT,
    "sun_azimuth_angle": (0.0, 360.0),
    "sun_altitude_angle": (-90.0, 90.0),
    "fog_density": _PERCENT,
    "fog_distance": _NON_NEGATIVE,
    "fog_falloff": _NON_NEGATIVE,
    "wetness": _PERCENT,
    "scattering_intensity": _NON_NEGATIVE,
    "mie_scattering_scale": _NON_NEGATIVE,
    "rayleigh_scattering_scale": _NON_NEGATIVE,
    "dust_storm": _PERCENT,
}
