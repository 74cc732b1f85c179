"""Pydantic models of a scenario file; schemas/scenario.schema.json is generated from them.

    Scenario                      runner.spec.scenario (run, record, export, cross-checks)
     ├── world, weather, server, traffic_manager      runner.spec.world
     ├── actors: ego, vehicles, props                 runner.spec.actors
     └── sensors: {name: SensorSpec}                  runner.spec.sensors

Every model forbids unknown keys and is frozen; `runner.load` is the only reader.
"""

from runner.export.targets import ExportSpec
from runner.pose import Pose
from runner.spec.actors import ActorsSpec, EgoSpec, PropSpec, VehiclesSpec
from runner.spec.scenario import (
    RecordSpec,
    RunSpec,
    Scenario,
    attach_targets,
    schema_json,
    with_lines,
)
from runner.spec.sensors import CAMERA_TYPES, SensorSpec, SensorType
from runner.spec.world import ServerSpec, TrafficManagerSpec, WeatherSpec, WorldSpec
from runner.validation import ISSUES_ERROR, AttributeValue, Issue, Loc, raise_issues

__all__ = [
    "CAMERA_TYPES",
    "ISSUES_ERROR",
    "ActorsSpec",
    "AttributeValue",
    "EgoSpec",
    "ExportSpec",
    "Issue",
    "Loc",
    "Pose",
    "PropSpec",
    "RecordSpec",
    "RunSpec",
    "Scenario",
    "SensorSpec",
    "SensorType",
    "ServerSpec",
    "TrafficManagerSpec",
    "VehiclesSpec",
    "WeatherSpec",
    "WorldSpec",
    "attach_targets",
    "raise_issues",
    "schema_json",
    "with_lines",
]
