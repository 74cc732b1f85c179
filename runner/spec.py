"""Pydantic models of a scenario file; schemas/scenario.schema.json is generated from them.

Every model forbids unknown keys and is frozen.  Checks that need the pinned CARLA
0.9.16 catalog (blueprint ids, filters, presets, maps, sensor attributes) or that
relate two parts of the file (attach_to, exports) raise one `ISSUES_ERROR` whose
context lists (sub-path, message, hint, at_key) tuples, so `runner.load` can point
each one at the exact key or value.  Nothing here contacts a simulator.

Weather decision: `sun_altitude_angle` accepts [-180, 180] rather than CARLA's
documented [-90, 90].  Neither the 0.9.16 wheel nor the server clamps it (it is the
pitch of the sun light), so the seed tutorial's 110 means a sun 20 deg past the
zenith; values beyond one half-turn either way are surely typos.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from runner.catalog import SENSOR_BLUEPRINTS, WEATHER_PRESETS, WEATHER_RANGES
from runner.suggest import (
    Finding,
    attribute_findings,
    did_you_mean,
    empty_filter,
    unknown_blueprint,
    unknown_map,
)

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str, "str | None", bool]
"""(sub-path below the validated object, message, did-you-mean hint, point at the key)."""
AttributeValue = bool | int | float | str

ISSUES_ERROR = "scenario_issues"
SUN_ALTITUDE_RANGE_DEG = (-180.0, 180.0)
SensorType = Literal[
    "rgb",
    "depth",
    "semantic_segmentation",
    "instance_segmentation",
    "lidar",
    "collision",
    "gnss",
    "imu",
]
CAMERA_TYPES = ("rgb", "depth", "semantic_segmentation", "instance_segmentation")
Converter = Literal["raw", "cityscapes", "depth", "logdepth"]
RecorderQuery = Literal["file_info", "collisions", "blocked"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def raise_issues(issues: Sequence[Issue]) -> None:
    """Raise one pydantic error carrying every located issue (no-op when empty)."""
    if issues:
        summary = "; ".join(message for _, message, _, _ in issues)
        raise PydanticCustomError(
            ISSUES_ERROR, "{summary}", {"summary": summary, "issues": tuple(issues)}
        )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Transform(_Model):
    """A pose relative to the parent (or the world): metres and degrees, CARLA's axes."""

    x: float = Field(default=0.0, description="forward [m]")
    y: float = Field(default=0.0, description="right [m]")
    z: float = Field(default=0.0, description="up [m]")
    pitch: float = Field(default=0.0, description="nose up [deg]")
    yaw: float = Field(default=0.0, description="turn right [deg]")
    roll: float = Field(default=0.0, description="right side down [deg]")


class ServerSpec(_Model):
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


class WeatherSpec(_Model):
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


def _preset_shorthand(value: Any) -> Any:
    """`weather: ClearNoon` is short for `weather: {preset: ClearNoon}`."""
    return {"preset": value} if isinstance(value, str) else value


class WorldSpec(_Model):
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


class TrafficManagerSpec(_Model):
    """The client-side Traffic Manager that drives autopilot vehicles."""

    port: int = Field(default=8000, ge=1, le=65535, description="Traffic Manager port")
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


def _finding_issues(finding: Finding | None, subloc: Loc = ()) -> list[Issue]:
    return [] if finding is None else [(subloc, finding[0], finding[1], False)]


def _attribute_issues(blueprint_id: str, attributes: dict[str, AttributeValue]) -> list[Issue]:
    found = attribute_findings(blueprint_id, dict(attributes))
    return [(("attributes", name), msg, hint, at_key) for name, at_key, (msg, hint) in found]


class EgoSpec(_Model):
    """The ego vehicle that carries the sensor rig."""

    blueprint: str | None = Field(
        default=None, description="exact blueprint id, e.g. vehicle.tesla.model3"
    )
    filter: str | None = Field(
        default=None, description="CARLA wildcard filter (default 'vehicle.*')"
    )
    spawn_point: int | Literal["random"] = Field(
        default="random", description="index into the map's spawn points, or 'random' (seeded)"
    )
    transform: Transform | None = Field(default=None, description="explicit spawn pose instead")
    autopilot: bool = Field(default=True, description="hand the ego to the Traffic Manager")
    role_name: str = Field(default="hero", description="role_name attribute of the ego")
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="blueprint attributes, e.g. color: '255,0,0'"
    )

    @field_validator("spawn_point", mode="before")
    @classmethod
    def _spawn_point(cls, value: Any) -> Any:
        if value == "random" or (type(value) is int and value >= 0):
            return value
        message = f"expected a spawn point index (integer >= 0) or 'random', got {value!r}"
        raise_issues([((), message, None, False)])

    @field_validator("blueprint")
    @classmethod
    def _known_blueprint(cls, value: str | None) -> str | None:
        if value is not None:
            raise_issues(_finding_issues(unknown_blueprint(value, "vehicle.")))
        return value

    @field_validator("filter")
    @classmethod
    def _filter_matches(cls, value: str | None) -> str | None:
        if value is not None:
            raise_issues(_finding_issues(empty_filter(value)))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EgoSpec:
        issues: list[Issue] = []
        if self.blueprint is not None and self.filter is not None:
            issues.append((("filter",), "give either blueprint or filter, not both", None, True))
        if self.transform is not None and "spawn_point" in self.model_fields_set:
            message = "give either spawn_point or transform, not both"
            issues.append((("transform",), message, None, True))
        if self.attributes and self.blueprint is None:
            message = "attributes need an exact blueprint (not a filter)"
            issues.append((("attributes",), message, None, True))
        elif self.blueprint is not None:
            issues.extend(_attribute_issues(self.blueprint, self.attributes))
        raise_issues(issues)
        return self


class VehiclesSpec(_Model):
    """Background traffic: up to `count` vehicles on free spawn points."""

    count: int = Field(
        default=0, ge=0, le=1000, description="vehicles to try to spawn (some may collide)"
    )
    filter: str = Field(
        default="vehicle.*", description="CARLA wildcard filter for their blueprints"
    )
    autopilot: bool = Field(default=True, description="hand them to the Traffic Manager")

    @field_validator("filter")
    @classmethod
    def _filter_matches(cls, value: str) -> str:
        raise_issues(_finding_issues(empty_filter(value)))
        return value


class PropSpec(_Model):
    """A static prop placed in the world."""

    blueprint: str = Field(description="static blueprint id, e.g. static.prop.fountain")
    transform: Transform = Field(default_factory=Transform, description="world pose")
    name: str | None = Field(default=None, description="a name that sensors can attach_to")

    @field_validator("blueprint")
    @classmethod
    def _known_blueprint(cls, value: str) -> str:
        raise_issues(_finding_issues(unknown_blueprint(value, "static.")))
        return value


class ActorsSpec(_Model):
    """Everything spawned before the sensors: ego, traffic and props."""

    ego: EgoSpec | None = Field(default=None, description="the vehicle carrying the sensors")
    vehicles: VehiclesSpec = Field(default_factory=VehiclesSpec, description="background traffic")
    props: tuple[PropSpec, ...] = Field(default=(), description="static props")


class SensorSpec(_Model):
    """One named sensor; its attributes are checked against its CARLA blueprint."""

    type: SensorType = Field(description="sensor kind; the blueprint is sensor.camera.<type> etc.")
    attach_to: str = Field(default="ego", description="'ego', 'world' or the name of a prop")
    transform: Transform = Field(default_factory=Transform, description="pose relative to parent")
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="blueprint attributes, e.g. image_size_x: 1280"
    )
    capture_every: int = Field(default=1, ge=1, description="keep this sensor's data every N ticks")

    @property
    def blueprint(self) -> str:
        """The CARLA blueprint id of this sensor type."""
        return SENSOR_BLUEPRINTS[self.type]

    @model_validator(mode="after")
    def _attributes_fit(self) -> SensorSpec:
        raise_issues(_attribute_issues(self.blueprint, self.attributes))
        return self


class RunSpec(_Model):
    """How long to run: warm-up ticks (nothing kept) then captured ticks."""

    ticks: int = Field(default=100, ge=1, description="ticks after warm-up")
    warmup_ticks: int = Field(default=0, ge=0, description="ticks first, to let traffic settle")


class RecordSpec(_Model):
    """CARLA's recorder, and the queries answered from its file after the run."""

    enabled: bool = Field(default=False, description="record the run with client.start_recorder")
    file: str = Field(default="recording.log", description="file name inside the run directory")
    queries: tuple[RecorderQuery, ...] = Field(default=(), description="recorder queries to save")

    @field_validator("file")
    @classmethod
    def _plain_file_name(cls, value: str) -> str:
        if not _FILE_NAME.match(value):
            message = f"expected a plain file name (no folders), got {value!r}"
            raise_issues([((), message, None, False)])
        return value

    @model_validator(mode="after")
    def _queries_need_recording(self) -> RecordSpec:
        if self.queries and not self.enabled:
            message = "queries need a recording; set enabled: true"
            raise_issues([(("queries",), message, None, True)])
        return self


class ExportSpec(_Model):
    """What to write from the captured data (more targets come later)."""

    images: dict[str, Converter] = Field(
        default_factory=dict, description="camera name -> converter: raw|cityscapes|depth|logdepth"
    )


class Scenario(_Model):
    """A whole scenario file: world, actors, sensors, run length and outputs."""

    name: str | None = Field(default=None, description="scenario name; defaults to the file name")
    description: str = Field(default="", description="free text")
    map: str = Field(description="CARLA town (Town03), built-in map (GridTown) or an .xodr path")
    weather: Annotated[
        WeatherSpec | None,
        BeforeValidator(_preset_shorthand, json_schema_input_type=str | WeatherSpec | None),
    ] = Field(
        default=None, description="preset name, or a mapping of fields (optionally with a preset)"
    )
    world: WorldSpec = Field(default_factory=WorldSpec, description="episode settings")
    seed: int = Field(
        default=0, ge=0, le=2**31 - 1, description="master seed for Python, numpy and TM"
    )
    traffic_manager: TrafficManagerSpec = Field(default_factory=TrafficManagerSpec)
    server: ServerSpec | None = Field(
        default=None, description="external server; absent = embedded"
    )
    actors: ActorsSpec = Field(default_factory=ActorsSpec, description="ego, traffic and props")
    sensors: dict[str, SensorSpec] = Field(default_factory=dict, description="sensors by name")
    run: RunSpec = Field(default_factory=RunSpec, description="tick counts")
    record: RecordSpec = Field(default_factory=RecordSpec, description="CARLA recorder")
    export: ExportSpec = Field(default_factory=ExportSpec, description="outputs")

    _lines: dict[Loc, int] = PrivateAttr(default_factory=dict)

    @field_validator("map")
    @classmethod
    def _known_map(cls, value: str, info: ValidationInfo) -> str:
        context = info.context or {}
        finding = unknown_map(value, context.get("base_dir"), context.get("maps_dirs", ()))
        raise_issues(_finding_issues(finding))
        return value

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        raise_issues([*_actor_name_issues(self), *_sensor_issues(self), *_export_issues(self)])
        return self

    def line_of(self, *loc: str | int) -> int | None:
        """The line in the scenario file where `loc` was written (None if not from a file)."""
        return self._lines.get(tuple(loc))


def with_lines(scenario: Scenario, lines: dict[Loc, int]) -> Scenario:
    """Attach the file's line map (used by compile so spawn errors can name a line)."""
    scenario._lines = dict(lines)
    return scenario


def attach_targets(scenario: Scenario) -> set[str]:
    """Names a sensor may attach_to."""
    names = {"world"} | {p.name for p in scenario.actors.props if p.name}
    return names | ({"ego"} if scenario.actors.ego is not None else set())


def _actor_name_issues(scenario: Scenario) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = {"ego", "world"}
    for i, prop in enumerate(scenario.actors.props):
        if prop.name is None:
            continue
        if prop.name in seen or not _NAME.match(prop.name):
            message = f"prop name {prop.name!r} is reserved, repeated or not a plain name"
            issues.append((("actors", "props", i, "name"), message, None, False))
        seen.add(prop.name)
    return issues


def _sensor_issues(scenario: Scenario) -> list[Issue]:
    issues: list[Issue] = []
    targets = attach_targets(scenario)
    for name, sensor in scenario.sensors.items():
        if not _NAME.match(name):
            message = f"sensor name {name!r} must be letters, digits, '_' or '-'"
            issues.append((("sensors", name), message, None, True))
        if sensor.attach_to not in targets:
            message = f"attach_to names no actor: {sensor.attach_to!r}"
            if sensor.attach_to == "ego":
                message += " (the scenario has no actors.ego)"
            hint = did_you_mean(sensor.attach_to, targets)
            issues.append((("sensors", name, "attach_to"), message, hint, False))
    return issues


_CONVERTERS_FOR = {
    "raw": CAMERA_TYPES,
    "cityscapes": ("semantic_segmentation", "instance_segmentation"),
    "depth": ("depth",),
    "logdepth": ("depth",),
}


def _export_issues(scenario: Scenario) -> list[Issue]:
    issues: list[Issue] = []
    for name, converter in scenario.export.images.items():
        loc: Loc = ("export", "images", name)
        sensor = scenario.sensors.get(name)
        if sensor is None:
            hint = did_you_mean(name, scenario.sensors)
            issues.append((loc, f"no sensor named {name!r}", hint, True))
        elif sensor.type not in CAMERA_TYPES:
            issues.append((loc, f"sensor {name!r} is a {sensor.type}, not a camera", None, True))
        elif sensor.type not in _CONVERTERS_FOR[converter]:
            allowed = ", ".join(_CONVERTERS_FOR[converter])
            message = f"converter {converter!r} needs a {allowed} camera; {name!r} is {sensor.type}"
            issues.append((loc, message, None, False))
    return issues


def schema_json() -> str:
    """The JSON Schema of a scenario file, pretty and with sorted keys (stable diffs)."""
    schema = Scenario.model_json_schema()
    schema["title"] = "CARLA scenario"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
