"""A plan: the ordered, frozen steps a run executes, and nothing else.

`runner.compile` makes one from a scenario without a simulator; `runner.execute`
runs every step in order, each by exactly one handler (an exhaustive `match`), and
records in the manifest which steps ran. `scenario plan` prints exactly this.
Steps are keyword-only frozen dataclasses of plain data; a step that needs something
set up earlier (the exports a tick loop feeds) comes after the step that sets it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeVar

from runner.export.checks import SensorInfo
from runner.export.targets import ExportSpec
from runner.pose import Pose

Pairs = tuple[tuple[str, str], ...]
AS_MAPPING = {"mapping": True}
"""Field metadata: this tuple of (name, value) pairs reads as a mapping in JSON and text."""


@dataclass(frozen=True, kw_only=True)
class Seeds:
    """The master seed and what was derived from it (see `runner.compile.derive_seed`)."""

    master: int
    python: int
    numpy: int
    traffic_manager: int


@dataclass(frozen=True, kw_only=True)
class Connect:
    """Open a client; `embedded` means start the built-in simulator on a free port."""

    embedded: bool
    host: str | None
    port: int | None
    timeout_s: float
    load_timeout_s: float
    client_traffic_manager: bool = False
    """Embedded only: leave TM ports to the client (CARLA's in-client TM)."""


@dataclass(frozen=True, kw_only=True)
class LoadMap:
    """Load a town by name, or build one from an OpenDRIVE file."""

    name: str
    xodr_path: str | None


@dataclass(frozen=True, kw_only=True)
class ApplySettings:
    """World settings; restored to the saved originals at teardown."""

    synchronous_mode: bool
    fixed_delta_seconds: float
    substepping: bool
    max_substep_delta_time: float
    max_substeps: int
    no_rendering_mode: bool


@dataclass(frozen=True, kw_only=True)
class ConfigureTrafficManager:
    """Traffic Manager port, seed and behaviour; its sync mode follows the world's."""

    port: int
    seed: int
    synchronous_mode: bool
    global_speed_difference_pct: float
    hybrid_physics: bool
    hybrid_physics_radius_m: float


@dataclass(frozen=True, kw_only=True)
class SetWeather:
    """Every `carla.WeatherParameters` field, preset values first, overrides applied."""

    preset: str | None
    parameters: tuple[tuple[str, float], ...] = field(metadata=AS_MAPPING)


@dataclass(frozen=True, kw_only=True)
class SpawnEgo:
    """Spawn the ego: exact blueprint or a seeded choice from `filter`."""

    blueprint: str | None
    filter: str
    spawn_point: int | Literal["random"] | None
    pose: Pose | None
    autopilot: bool
    attributes: Pairs = field(metadata=AS_MAPPING)
    line: int | None


@dataclass(frozen=True, kw_only=True)
class SpawnVehicles:
    """Try to spawn up to `count` vehicles on free spawn points (seeded choices)."""

    count: int
    filter: str
    autopilot: bool
    line: int | None


@dataclass(frozen=True, kw_only=True)
class PropPlacement:
    """One static prop and where it goes."""

    blueprint: str
    pose: Pose
    name: str | None
    line: int | None


@dataclass(frozen=True, kw_only=True)
class SpawnProps:
    """Spawn static props at fixed world poses."""

    props: tuple[PropPlacement, ...]


@dataclass(frozen=True, kw_only=True)
class AttachSensor:
    """Spawn a sensor and listen to it; `parent` is "ego", a prop name, or None (world)."""

    name: str
    sensor_type: str
    blueprint: str
    parent: str | None
    pose: Pose
    attributes: Pairs = field(metadata=AS_MAPPING)
    capture_every: int
    line: int | None


@dataclass(frozen=True, kw_only=True)
class StartRecorder:
    """Start CARLA's recorder into `file` inside the run directory."""

    file: str


@dataclass(frozen=True, kw_only=True)
class OpenExports:
    """Open the writers the tick loop feeds: images, COCO, YOLO, lidar, measurements.

    `sensors` is what the exports need to know of every sensor (pose, size, fov), so
    nothing is looked up elsewhere; frames.jsonl and the manifest are always written.
    """

    export: ExportSpec
    sensors: tuple[tuple[str, SensorInfo], ...] = field(metadata=AS_MAPPING)


@dataclass(frozen=True, kw_only=True)
class TickLoop:
    """Warm up, then tick `ticks` times; captured frames go to the open exports."""

    ticks: int
    warmup_ticks: int
    synchronous_mode: bool


@dataclass(frozen=True, kw_only=True)
class CloseExports:
    """Write what is still queued and close the writers (counts go to the manifest)."""


@dataclass(frozen=True, kw_only=True)
class StopRecorder:
    """Stop the recorder so its file is complete (before it is queried)."""


@dataclass(frozen=True, kw_only=True)
class QueryRecorder:
    """Save the answers to recorder queries about `file`."""

    file: str
    queries: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Teardown:
    """Stop sensors, destroy actors, stop the recorder, restore settings and TM sync."""

    restore_settings: bool


Step = (
    Connect
    | LoadMap
    | ApplySettings
    | ConfigureTrafficManager
    | SetWeather
    | SpawnEgo
    | SpawnVehicles
    | SpawnProps
    | AttachSensor
    | StartRecorder
    | OpenExports
    | TickLoop
    | CloseExports
    | StopRecorder
    | QueryRecorder
    | Teardown
)
STEP_TYPES: tuple[type, ...] = Step.__args__
"""Every step class, for the test that proves each has a handler."""
S = TypeVar("S")


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Everything a run will do, in order; equal scenarios give equal plans."""

    name: str
    source: str | None
    seeds: Seeds
    steps: tuple[Step, ...]
    resolved_scenario: str = "{}"
    """The validated scenario as canonical JSON (defaults filled, overrides applied)."""
    overrides: tuple[str, ...] = ()
    """The `--set PATH=VALUE` overrides it was loaded with, for the reproduce command."""

    def steps_of(self, kind: type[S]) -> tuple[S, ...]:
        """The steps of one class, in plan order."""
        return tuple(s for s in self.steps if isinstance(s, kind))
