"""Where and how the world runs: server, weather, episode settings, Traffic Manager.

Weather decision: `sun_altitude_angle` accepts [-180, 180] rather than CARLA's
documented [-90, 90].  Neither the 0.9.16 wheel nor the server clamps it (it is the
pitch of the sun light), so the seed tutorial's 110 means a sun 20 deg past the
zenith; values beyond one half-turn either way are surely typos.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from runner.catalog import WEATHER_PRESETS, WEATHER_RANGES
from runner.suggest import did_you_mean
from runner.validation import StrictModel, raise_issues

SUN_ALTITUDE_RANGE_DEG = (-180.0, 180.0)


class ServerSpec(StrictModel):
    """An external CARLA server; leaving `server` out starts the embedded simulator."""

    host: str = Field(default="127.0.0.1", description="server host name or address")
    port: int = Field(default=2000, ge=1, le=65535, description="RPC port")
    timeout_s: float = Field(
        default=10.0, gt=0, description="client timeout for ordinary calls [s]"
    )
    load_timeout_s: float = Field(
        default=60.0, gt=0, description="client timeout while loading a map [s]"
    )


def _weather_field(name: str, description: str) -> Any:
    low, high = SUN_ALTITUDE_RANGE_DEG if name == "sun_altitude_angle" else WEATHER_RANGES[name]
    return Field(
        default=None, description=description, ge=low, le=None if math.isinf(high) else high
    )


class WeatherSpec(StrictModel):
    """Weather: an optional preset, then any fields given here override it.

    Without a preset the unset fields take `carla.WeatherParameters()` defaults, as the
    seed tutorial's `carla.WeatherParameters(cloudiness=20, ...)` did.
    """

    preset: str | None = Field(
        default=None, description="a carla.WeatherParameters preset, e.g. ClearNoon"
    )
    cloudiness: float | None = _weather_field("cloudiness", "cloud cover [%]")
    precipitation: float | None = _weather_field("precipitation", "rain [%]")
    precipitation_deposits: float | None = _weather_field("precipitation_deposits", "puddles [%]")
    wind_intensity: float | None = _weather_field("wind_intensity", "wind [%]")
    sun_azimuth_angle: float | None = _weather_field("sun_azimuth_angle", "sun azimuth [deg]")
    sun_altitude_angle: float | None = _weather_field(
        "sun_altitude_angle", "sun altitude [deg]; CARLA documents -90..90 but applies any pitch"
    )
    fog_density: float | None = _weather_field("fog_density", "fog [%]")
    fog_distance: float | None = _weather_field("fog_distance", "fog start distance [m]")
    fog_falloff: float | None = _weather_field("fog_falloff", "fog density falloff (1 = air)")
    wetness: float | None = _weather_field("wetness", "wetness on cameras [%]")
    scattering_intensity: float | None = _weather_field("scattering_intensity", "light scattering")
    mie_scattering_scale: float | None = _weather_field("mie_scattering_scale", "Mie scattering")
    rayleigh_scattering_scale: float | None = _weather_field(
        "rayleigh_scattering_scale", "Rayleigh scattering"
    )
    dust_storm: float | None = _weather_field("dust_storm", "dust storm [%]")

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in WEATHER_PRESETS:
            hint = did_you_mean(value, WEATHER_PRESETS)
            raise_issues([((), f"unknown weather preset {value!r}", hint, False)])
        return value

    def overrides(self) -> dict[str, float]:
        """The weather fields set explicitly, in CARLA's field order."""
        return {k: v for k, v in self.model_dump(exclude={"preset"}).items() if v is not None}


def preset_shorthand(value: Any) -> Any:
    """`weather: ClearNoon` is short for `weather: {preset: ClearNoon}`."""
    return {"preset": value} if isinstance(value, str) else value


class WorldSpec(StrictModel):
    """Episode settings; synchronous with a fixed step is what makes runs reproducible."""

    synchronous: bool = Field(default=True, description="the runner ticks the world (recommended)")
    fixed_delta_seconds: float = Field(
        default=0.05,
        gt=0,
        le=0.1,
        description="simulated time per tick [s]; physics is unreliable > 0.1",
    )
    substepping: bool = Field(default=True, description="split each tick into physics substeps")
    max_substep_delta_time: float = Field(
        default=0.01, gt=0, le=0.1, description="substep length [s]"
    )
    max_substeps: int = Field(default=10, ge=1, le=16, description="substeps per tick")
    no_rendering: bool = Field(
        default=False, description="skip rendering (cameras then see nothing)"
    )

    @model_validator(mode="after")
    def _substeps_cover_tick(self) -> WorldSpec:
        budget_s = self.max_substep_delta_time * self.max_substeps
        if self.substepping and self.fixed_delta_seconds > budget_s + 1e-9:
            message = (
                f"with substepping, fixed_delta_seconds must be <= max_substep_delta_time"
                f" * max_substeps = {budget_s:g}, got {self.fixed_delta_seconds:g}"
            )
            raise_issues([(("fixed_delta_seconds",), message, None, False)])
        return self


class TrafficManagerSpec(StrictModel):
    """The Traffic Manager that drives autopilot vehicles."""

    port: int = Field(default=8000, ge=1, le=65535, description="Traffic Manager port")
    served_by: Literal["simulator", "client"] = Field(
        default="simulator",
        description=(
            "embedded simulator only: 'simulator' serves the TM inside it (no client-side"
            " carla#9172 hang), 'client' runs CARLA's in-client TM for its exact behaviour;"
            " a real CARLA server always uses CARLA's"
        ),
    )
    global_speed_difference_pct: float = Field(
        default=0.0,
        ge=-100,
        le=100,
        description="target = speed limit x (1 - pct/100); negative = faster",
    )
    hybrid_physics: bool = Field(default=False, description="simplified physics far from the ego")
    hybrid_physics_radius_m: float = Field(
        default=70.0, gt=0, description="full-physics radius [m]"
    )
