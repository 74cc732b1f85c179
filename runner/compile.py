"""Scenario -> Plan: an ordered tuple of frozen steps, computed without a simulator.

Compilation is pure: the same scenario (and source path) always gives an equal
`Plan`, so tests compare plans directly and `scenario plan` prints one offline.
The executor walks the steps in order; spawn and attach steps keep the scenario
line they came from, so a failed spawn can name it.

Seed rule: the master seed is fanned out as
``sha256(f"{master}/{purpose}")[:4] & 0x7FFFFFFF`` for purpose "python", "numpy" and
"traffic_manager", so each consumer gets its own stable, independent stream.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from runner.catalog import SENSOR_BLUEPRINTS, WEATHER_FIELDS, WEATHER_PRESETS
from runner.spec import AttributeValue, EgoSpec, Scenario, Transform, WeatherSpec

_CTOR_WEATHER: dict[str, float] = {name: 0.0 for name in WEATHER_FIELDS} | {
    "rayleigh_scattering_scale": 0.0331
}
"""`carla.WeatherParameters()` in 0.9.16: all zero except Rayleigh scattering."""

Pairs = tuple[tuple[str, str], ...]
_AS_MAPPING = {"mapping": True}
"""Field metadata: this tuple of (name, value) pairs reads as a mapping in JSON and text."""


@dataclass(frozen=True)
class Pose:
    """Location [m] and rotation [deg], relative to the parent or the world."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0


@dataclass(frozen=True)
class Seeds:
    """The master seed and what was derived from it (see the module docstring)."""

    master: int
    python: int
    numpy: int
    traffic_manager: int


@dataclass(frozen=True)
class Connect:
    """Open a client; `embedded` means start the built-in simulator on a free port."""

    embedded: bool
    host: str | None
    port: int | None
    timeout_s: float
    load_timeout_s: float


@dataclass(frozen=True)
class LoadMap:
    """Load a town by name, or build one from an OpenDRIVE file."""

    name: str
    xodr_path: str | None


@dataclass(frozen=True)
class ApplySettings:
    """World settings; restored to the saved originals at teardown."""

    synchronous_mode: bool
    fixed_delta_seconds: float
    substepping: bool
    max_substep_delta_time: float
    max_substeps: int
    no_rendering_mode: bool


@dataclass(frozen=True)
class ConfigureTrafficManager:
    """Traffic Manager port, seed and behaviour; its sync mode follows the world's."""

    port: int
    seed: int
    synchronous_mode: bool
    global_speed_difference_pct: float
    hybrid_physics: bool
    hybrid_physics_radius_m: float


@dataclass(frozen=True)
class SetWeather:
    """Every `carla.WeatherParameters` field, preset values first, overrides applied."""

    preset: str | None
    parameters: tuple[tuple[str, float], ...] = field(metadata=_AS_MAPPING)


@dataclass(frozen=True)
class SpawnEgo:
    """Spawn the ego: exact blueprint or a seeded choice from `filter`."""

    blueprint: str | None
    filter: str
    spawn_point: int | Literal["random"] | None
    pose: Pose | None
    autopilot: bool
    attributes: Pairs = field(metadata=_AS_MAPPING)
    line: int | None


@dataclass(frozen=True)
class SpawnVehicles:
    """Try to spawn up to `count` vehicles on free spawn points (seeded choices)."""

    count: int
    filter: str
    autopilot: bool
    line: int | None


@dataclass(frozen=True)
class PropPlacement:
    """One static prop and where it goes."""

    blueprint: str
    pose: Pose
    name: str | None
    line: int | None


@dataclass(frozen=True)
class SpawnProps:
    """Spawn static props at fixed world poses."""

    props: tuple[PropPlacement, ...]


@dataclass(frozen=True)
class AttachSensor:
    """Spawn a sensor; `parent` is "ego", a prop name, or None for the world."""

    name: str
    sensor_type: str
    blueprint: str
    parent: str | None
    pose: Pose
    attributes: Pairs = field(metadata=_AS_MAPPING)
    line: int | None


@dataclass(frozen=True)
class StartRecorder:
    """Start CARLA's recorder into `file` inside the run directory."""

    file: str


@dataclass(frozen=True)
class TickLoop:
    """Warm up, then tick `ticks` times keeping each sensor's data every N ticks."""

    ticks: int
    warmup_ticks: int
    capture_every: tuple[tuple[str, int], ...] = field(metadata=_AS_MAPPING)
    synchronous_mode: bool


@dataclass(frozen=True)
class ExportImages:
    """Write one camera's captured frames as images through a CARLA converter."""

    sensor: str
    converter: str


@dataclass(frozen=True)
class QueryRecorder:
    """Save the answers to recorder queries about `file`."""

    file: str
    queries: tuple[str, ...]


@dataclass(frozen=True)
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
    | TickLoop
    | ExportImages
    | QueryRecorder
    | Teardown
)
S = TypeVar("S")


@dataclass(frozen=True)
class Plan:
    """Everything a run will do, in order; equal scenarios give equal plans."""

    name: str
    source: str | None
    seeds: Seeds
    steps: tuple[Step, ...]

    def steps_of(self, kind: type[S]) -> tuple[S, ...]:
        """The steps of one class, in plan order."""
        return tuple(step for step in self.steps if isinstance(step, kind))


def derive_seed(master: int, purpose: str) -> int:
    """A 31-bit seed for `purpose`, stable across Python versions and platforms."""
    digest = hashlib.sha256(f"{master}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF


def compile_plan(scenario: Scenario, *, source: Path | None = None) -> Plan:
    """The plan for `scenario`; `source` names the file and anchors relative .xodr paths."""
    seeds = Seeds(
        scenario.seed,
        derive_seed(scenario.seed, "python"),
        derive_seed(scenario.seed, "numpy"),
        derive_seed(scenario.seed, "traffic_manager"),
    )
    steps: list[Step] = [_connect(scenario), _load_map(scenario.map, source)]
    steps += [_settings(scenario), _traffic_manager(scenario, seeds.traffic_manager)]
    if scenario.weather is not None:
        steps.append(_weather(scenario.weather))
    steps += _spawns(scenario)
    steps += _sensors(scenario)
    steps += _run_and_outputs(scenario)
    name = scenario.name or (source.stem if source is not None else "scenario")
    return Plan(name, None if source is None else str(source), seeds, tuple(steps))


def _connect(scenario: Scenario) -> Connect:
    server = scenario.server
    if server is None:
        return Connect(True, None, None, 10.0, 60.0)
    return Connect(False, server.host, server.port, server.timeout_s, server.load_timeout_s)


def _load_map(map_name: str, source: Path | None) -> LoadMap:
    if not map_name.strip().lower().endswith(".xodr"):
        return LoadMap(map_name.rsplit("/", 1)[-1], None)
    path = Path(map_name.strip()).expanduser()
    if not path.is_absolute() and source is not None:
        path = source.parent / path
    return LoadMap(path.stem, str(path))


def _settings(scenario: Scenario) -> ApplySettings:
    world = scenario.world
    return ApplySettings(
        world.synchronous,
        world.fixed_delta_seconds,
        world.substepping,
        world.max_substep_delta_time,
        world.max_substeps,
        world.no_rendering,
    )


def _traffic_manager(scenario: Scenario, seed: int) -> ConfigureTrafficManager:
    tm = scenario.traffic_manager
    return ConfigureTrafficManager(
        tm.port,
        seed,
        scenario.world.synchronous,
        tm.global_speed_difference_pct,
        tm.hybrid_physics,
        tm.hybrid_physics_radius_m,
    )


def _weather(weather: WeatherSpec) -> SetWeather:
    base = WEATHER_PRESETS[weather.preset] if weather.preset else _CTOR_WEATHER
    values = {**base, **weather.overrides()}
    return SetWeather(weather.preset, tuple((name, values[name]) for name in WEATHER_FIELDS))


def pose_of(transform: Transform) -> Pose:
    """The plan's plain-data copy of a scenario transform."""
    t = transform
    return Pose(t.x, t.y, t.z, t.pitch, t.yaw, t.roll)


def attribute_pairs(attributes: dict[str, AttributeValue]) -> Pairs:
    """Attributes as CARLA's `set_attribute` strings, sorted by name (bools lower-case)."""
    text = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in attributes.items()}
    return tuple(sorted(text.items()))


def _ego(ego: EgoSpec, line: int | None) -> SpawnEgo:
    pose = None if ego.transform is None else pose_of(ego.transform)
    spawn_point = None if pose is not None else ego.spawn_point
    attributes = attribute_pairs({**ego.attributes, "role_name": ego.role_name})
    filter_ = ego.filter or ("vehicle.*" if ego.blueprint is None else ego.blueprint)
    return SpawnEgo(ego.blueprint, filter_, spawn_point, pose, ego.autopilot, attributes, line)


def _spawns(scenario: Scenario) -> list[Step]:
    actors = scenario.actors
    steps: list[Step] = []
    if actors.ego is not None:
        steps.append(_ego(actors.ego, scenario.line_of("actors", "ego")))
    if actors.vehicles.count > 0:
        v = actors.vehicles
        line = scenario.line_of("actors", "vehicles")
        steps.append(SpawnVehicles(v.count, v.filter, v.autopilot, line))
    if actors.props:
        lines = [scenario.line_of("actors", "props", i) for i in range(len(actors.props))]
        props = tuple(
            PropPlacement(p.blueprint, pose_of(p.transform), p.name, line)
            for p, line in zip(actors.props, lines, strict=True)
        )
        steps.append(SpawnProps(props))
    return steps


def _sensors(scenario: Scenario) -> list[Step]:
    return [
        AttachSensor(
            name,
            sensor.type,
            SENSOR_BLUEPRINTS[sensor.type],
            None if sensor.attach_to == "world" else sensor.attach_to,
            pose_of(sensor.transform),
            attribute_pairs(sensor.attributes),
            scenario.line_of("sensors", name),
        )
        for name, sensor in scenario.sensors.items()
    ]


def _run_and_outputs(scenario: Scenario) -> list[Step]:
    record = scenario.record
    steps: list[Step] = [StartRecorder(record.file)] if record.enabled else []
    capture = tuple((name, s.capture_every) for name, s in scenario.sensors.items())
    run = scenario.run
    steps.append(TickLoop(run.ticks, run.warmup_ticks, capture, scenario.world.synchronous))
    steps += [ExportImages(name, conv) for name, conv in scenario.export.images.items()]
    if record.enabled and record.queries:
        steps.append(QueryRecorder(record.file, record.queries))
    steps.append(Teardown(restore_settings=True))
    return steps
