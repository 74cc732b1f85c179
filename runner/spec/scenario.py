"""A whole scenario file: the top-level model and the checks that relate its parts.

Every model forbids unknown keys and is frozen; schemas/scenario.schema.json is
generated from them (`schema_json`). Nothing here contacts a simulator.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from runner.export.checks import export_issues
from runner.export.targets import ExportSpec
from runner.spec.actors import ActorsSpec
from runner.spec.sensors import SensorSpec
from runner.spec.world import (
    ServerSpec,
    TrafficManagerSpec,
    WeatherSpec,
    WorldSpec,
    preset_shorthand,
)
from runner.suggest import did_you_mean, unknown_map
from runner.validation import Issue, Loc, StrictModel, finding_issues, raise_issues

RecorderQuery = Literal["file_info", "collisions", "blocked"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class RunSpec(StrictModel):
    """How long to run: warm-up ticks (nothing kept) then captured ticks."""

    ticks: int = Field(default=100, ge=1, description="ticks after warm-up")
    warmup_ticks: int = Field(default=0, ge=0, description="ticks first, to let traffic settle")


class RecordSpec(StrictModel):
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


class Scenario(StrictModel):
    """A whole scenario file: world, actors, sensors, run length and outputs."""

    name: str | None = Field(default=None, description="scenario name; defaults to the file name")
    description: str = Field(default="", description="free text")
    map: str = Field(description="CARLA town (Town03), built-in map (GridTown) or an .xodr path")
    weather: Annotated[
        WeatherSpec | None,
        BeforeValidator(preset_shorthand, json_schema_input_type=str | WeatherSpec | None),
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
        raise_issues(finding_issues(finding))
        return value

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        raise_issues([*_actor_name_issues(self), *_sensor_issues(self), *export_issues(self)])
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


def schema_json() -> str:
    """The JSON Schema of a scenario file, pretty and with sorted keys (stable diffs)."""
    schema = Scenario.model_json_schema()
    schema["title"] = "CARLA scenario"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
