"""CARLA weather parameters → the few lighting numbers the RGB shader needs.

Not physically based: the aim is that presets read differently (noon, sunset,
night, overcast, rain with a wet glossy road, fog) with cheap per-pixel maths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

Rgb = tuple[float, float, float]

DEFAULTS: dict[str, float] = {
    "cloudiness": 5.0,
    "precipitation": 0.0,
    "precipitation_deposits": 0.0,
    "sun_azimuth_angle": 45.0,
    "sun_altitude_angle": 45.0,
    "fog_density": 2.0,
    "fog_distance": 0.75,
    "fog_falloff": 0.1,
    "wetness": 0.0,
}


@dataclass(frozen=True)
class Lighting:
    sun_dir: tuple[float, float, float]  # world, towards the sun
    sun_rgb: Rgb
    ambient_rgb: Rgb
    sky_zenith_rgb: Rgb
    sky_horizon_rgb: Rgb
    fog_rgb: Rgb
    fog_per_m: float
    fog_start_m: float
    fog_falloff: float
    wetness: float  # 0..1, darkens and glosses paved surfaces
    puddles: float  # 0..1
    night: float  # 0..1, street lamps and lit windows glow
    exposure: float


def _value(weather: Mapping[str, float], name: str) -> float:
    v = float(weather.get(name, DEFAULTS[name]))
    if name != "sun_altitude_angle" and v < 0.0:
        return DEFAULTS[name]  # -1 means "map default" in CARLA presets
    return v


def _smoothstep(a: float, b: float, x: float) -> float:
    t = min(max((x - a) / (b - a), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _mix(a: Rgb, b: Rgb, t: float) -> Rgb:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def _scale(a: Rgb, k: float) -> Rgb:
    return (a[0] * k, a[1] * k, a[2] * k)


def lighting(weather: Mapping[str, float]) -> Lighting:
    cloud = _value(weather, "cloudiness") / 100.0
    rain = _value(weather, "precipitation") / 100.0
    alt = _value(weather, "sun_altitude_angle")
    az = math.radians(_value(weather, "sun_azimuth_angle"))
    alt_r = math.radians(alt)
    sun_dir = (math.cos(alt_r) * math.cos(az), math.cos(alt_r) * math.sin(az), math.sin(alt_r))
    day = _smoothstep(-8.0, 8.0, alt)
    low = 1.0 - _smoothstep(5.0, 35.0, min(alt, 180.0 - alt))
    overcast = min(1.0, cloud + 0.5 * rain)
    sun_rgb = _scale(
        _mix((1.0, 0.97, 0.9), (1.0, 0.55, 0.28), low), 2.4 * day * (1 - 0.85 * overcast)
    )
    zenith = _mix((0.12, 0.32, 0.75), (0.5, 0.53, 0.58), overcast)
    horizon = _mix(_mix((0.62, 0.76, 0.92), (0.95, 0.6, 0.38), low), (0.62, 0.64, 0.67), overcast)
    night_zenith, night_horizon = (0.004, 0.006, 0.016), (0.02, 0.025, 0.04)
    zenith = _mix(night_zenith, zenith, day)
    horizon = _mix(night_horizon, horizon, day)
    ambient = _mix(
        (0.02, 0.025, 0.04), _scale(_mix(zenith, horizon, 0.5), 0.8 + 0.5 * overcast), day
    )
    fog_per_m = 0.0006 * _value(weather, "fog_density") + 0.004 * rain
    wet = max(_value(weather, "wetness"), _value(weather, "precipitation") * 1.2) / 100.0
    deposits = _value(weather, "precipitation_deposits") / 100.0
    return Lighting(
        sun_dir=sun_dir,
        sun_rgb=sun_rgb,
        ambient_rgb=ambient,
        sky_zenith_rgb=zenith,
        sky_horizon_rgb=horizon,
        fog_rgb=_scale(horizon, 0.9),
        fog_per_m=fog_per_m,
        fog_start_m=_value(weather, "fog_distance"),
        fog_falloff=_value(weather, "fog_falloff"),
        wetness=min(1.0, max(wet, 0.6 * deposits)),
        puddles=deposits,
        night=1.0 - day,
        exposure=1.0 + 0.6 * (1.0 - day),
    )
