"""Scenario -> Plan: an ordered tuple of frozen steps, computed without a simulator.

Compilation is pure: the same scenario (and source path) always gives an equal
`Plan`, so tests compare plans directly and `scenario plan` prints one offline.
The step types live in `runner.plan`; the executor walks them in order. Spawn and
attach steps keep the scenario line they came from, so a failed spawn can name it.

Seed rule: the master seed is fanned out as
``sha256(f"{master}/{purpose}")[:4] & 0x7FFFFFFF`` for purpose "python", "numpy" and
"traffic_manager", so each consumer gets its own stable, independent stream.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from runner.catalog import SENSOR_BLUEPRINTS, WEATHER_FIELDS, WEATHER_PRESETS
from runner.export.checks import coco_sources, export_issues, sensor_info
from runner.plan import (
    ApplySettings,
    AttachSensor,
    CloseExports,
    ConfigureTrafficManager,
    Connect,
    LoadMap,
    OpenExports,
    Pairs,
    Plan,
    PropPlacement,
    QueryRecorder,
    Seeds,
    SetWeather,
    SpawnEgo,
    SpawnProps,
    SpawnVehicles,
    StartRecorder,
    Step,
    StopRecorder,
    Teardown,
    TickLoop,
)
from runner.spec import AttributeValue, EgoSpec, Scenario, SensorSpec, WeatherSpec

_CTOR_WEATHER: dict[str, float] = {name: 0.0 for name in WEATHER_FIELDS} | {
    "rayleigh_scattering_scale": 0.0331
}
"""`carla.WeatherParameters()` in 0.9.16: all zero except Rayleigh scattering."""
DEFAULT_TIMEOUT_S, DEFAULT_LOAD_TIMEOUT_S = 10.0, 60.0
DEFAULT_PORT = 2000
"""CARLA's default RPC port."""


def derive_seed(master: int, purpose: str) -> int:
    """A 31-bit seed for `purpose`, stable across Python versions and platforms."""
    digest = hashlib.sha256(f"{master}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF


def compile_plan(scenario: Scenario, *, source: Path | None = None) -> Plan:
    """The plan for `scenario`; `source` names the file and anchors relative .xodr paths."""
    seeds = Seeds(
        master=scenario.seed,
        python=derive_seed(scenario.seed, "python"),
        numpy=derive_seed(scenario.seed, "numpy"),
        traffic_manager=derive_seed(scenario.seed, "traffic_manager"),
    )
    steps: list[Step] = [_connect(scenario), _load_map(scenario.map, source)]
    steps += [_settings(scenario), _traffic_manager(scenario, seeds.traffic_manager)]
    if scenario.weather is not None:
        steps.append(_weather(scenario.weather))
    steps += _spawns(scenario)
    steps += _sensors(scenario)
    steps += _run_and_outputs(scenario)
    name = scenario.name or (source.stem if source is not None else "scenario")
    return Plan(
        name=name,
        source=None if source is None else str(source),
        seeds=seeds,
        steps=tuple(steps),
        resolved_scenario=json.dumps(scenario.model_dump(mode="json"), sort_keys=True),
    )


def retarget(plan: Plan, host: str | None, port: int | None) -> Plan:
    """The plan run against `host:port` instead (a CLI override); embedding is then off.

    Applied before printing or running, so `scenario plan --host` shows what runs.
    """
    if host is None and port is None:
        return plan
    steps = tuple(
        replace(
            s,
            embedded=False,
            host=host or s.host or "127.0.0.1",
            port=port or s.port or DEFAULT_PORT,
        )
        if isinstance(s, Connect)
        else s
        for s in plan.steps
    )
    return replace(plan, steps=steps)


def _connect(scenario: Scenario) -> Connect:
    server = scenario.server
    if server is None:
        return Connect(
            embedded=True,
            host=None,
            port=None,
            timeout_s=DEFAULT_TIMEOUT_S,
            load_timeout_s=DEFAULT_LOAD_TIMEOUT_S,
            client_traffic_manager=scenario.traffic_manager.served_by == "client",
        )
    return Connect(
        embedded=False,
        host=server.host,
        port=server.port,
        timeout_s=server.timeout_s,
        load_timeout_s=server.load_timeout_s,
    )


def _load_map(map_name: str, source: Path | None) -> LoadMap:
    if not map_name.strip().lower().endswith(".xodr"):
        return LoadMap(name=map_name.rsplit("/", 1)[-1], xodr_path=None)
    path = Path(map_name.strip()).expanduser()
    if not path.is_absolute() and source is not None:
        path = source.parent / path
    return LoadMap(name=path.stem, xodr_path=str(path))


def _settings(scenario: Scenario) -> ApplySettings:
    world = scenario.world
    return ApplySettings(
        synchronous_mode=world.synchronous,
        fixed_delta_seconds=world.fixed_delta_seconds,
        substepping=world.substepping,
        max_substep_delta_time=world.max_substep_delta_time,
        max_substeps=world.max_substeps,
        no_rendering_mode=world.no_rendering,
    )


def _traffic_manager(scenario: Scenario, seed: int) -> ConfigureTrafficManager:
    tm = scenario.traffic_manager
    return ConfigureTrafficManager(
        port=tm.port,
        seed=seed,
        synchronous_mode=scenario.world.synchronous,
        global_speed_difference_pct=tm.global_speed_difference_pct,
        hybrid_physics=tm.hybrid_physics,
        hybrid_physics_radius_m=tm.hybrid_physics_radius_m,
    )


def _weather(weather: WeatherSpec) -> SetWeather:
    base = WEATHER_PRESETS[weather.preset] if weather.preset else _CTOR_WEATHER
    values = {**base, **weather.overrides()}
    parameters = tuple((name, values[name]) for name in WEATHER_FIELDS)
    return SetWeather(preset=weather.preset, parameters=parameters)


def attribute_pairs(attributes: dict[str, AttributeValue]) -> Pairs:
    """Attributes as CARLA's `set_attribute` strings, sorted by name (bools lower-case)."""
    text = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in attributes.items()}
    return tuple(sorted(text.items()))


def _ego(ego: EgoSpec, line: int | None) -> SpawnEgo:
    return SpawnEgo(
        blueprint=ego.blueprint,
        filter=ego.filter or ("vehicle.*" if ego.blueprint is None else ego.blueprint),
        spawn_point=None if ego.transform is not None else ego.spawn_point,
        pose=ego.transform,
        autopilot=ego.autopilot,
        attributes=attribute_pairs({**ego.attributes, "role_name": ego.role_name}),
        line=line,
    )


def _spawns(scenario: Scenario) -> list[Step]:
    actors = scenario.actors
    steps: list[Step] = []
    if actors.ego is not None:
        steps.append(_ego(actors.ego, scenario.line_of("actors", "ego")))
    if actors.vehicles.count > 0:
        v = actors.vehicles
        line = scenario.line_of("actors", "vehicles")
        steps.append(
            SpawnVehicles(count=v.count, filter=v.filter, autopilot=v.autopilot, line=line)
        )
    if actors.props:
        props = tuple(
            PropPlacement(
                blueprint=p.blueprint,
                pose=p.transform,
                name=p.name,
                line=scenario.line_of("actors", "props", i),
            )
            for i, p in enumerate(actors.props)
        )
        steps.append(SpawnProps(props=props))
    return steps


def implicit_sensors(scenario: Scenario) -> dict[str, SensorSpec]:
    """Sensors the runner adds for the export: the COCO camera's instance twin, if asked."""
    coco = scenario.export.coco
    if coco is None or coco.camera not in scenario.sensors or export_issues(scenario):
        return {}
    infos = {name: sensor_info(spec) for name, spec in scenario.sensors.items()}
    sources = coco_sources(coco, infos)
    if not sources.implicit or sources.instance is None:
        return {}
    camera = scenario.sensors[coco.camera]
    keep = ("image_size_x", "image_size_y", "fov", "sensor_tick")
    attributes = {k: v for k, v in camera.attributes.items() if k in keep}
    twin = SensorSpec(
        type="instance_segmentation",
        attach_to=camera.attach_to,
        transform=camera.transform,
        attributes=attributes,
        capture_every=camera.capture_every,
    )
    return {sources.instance: twin}


def all_sensors(scenario: Scenario) -> dict[str, SensorSpec]:
    """The scenario's sensors plus those its exports add (a COCO camera's instance twin)."""
    return {**scenario.sensors, **implicit_sensors(scenario)}


def _sensors(scenario: Scenario) -> list[Step]:
    sensors = all_sensors(scenario)
    return [
        AttachSensor(
            name=name,
            sensor_type=sensor.type,
            blueprint=SENSOR_BLUEPRINTS[sensor.type],
            parent=None if sensor.attach_to == "world" else sensor.attach_to,
            pose=sensor.transform,
            attributes=attribute_pairs(sensor.attributes),
            capture_every=sensor.capture_every,
            line=scenario.line_of("sensors", name) or scenario.line_of("export", "coco"),
        )
        for name, sensor in sensors.items()
    ]


def _run_and_outputs(scenario: Scenario) -> list[Step]:
    record = scenario.record
    steps: list[Step] = [StartRecorder(file=record.file)] if record.enabled else []
    infos = tuple((name, sensor_info(s)) for name, s in all_sensors(scenario).items())
    run = scenario.run
    steps += [
        OpenExports(export=scenario.export, sensors=infos),
        TickLoop(
            ticks=run.ticks,
            warmup_ticks=run.warmup_ticks,
            synchronous_mode=scenario.world.synchronous,
        ),
        CloseExports(),
    ]
    if record.enabled:
        steps.append(StopRecorder())
        if record.queries:
            steps.append(QueryRecorder(file=record.file, queries=record.queries))
    steps.append(Teardown(restore_settings=True))
    return steps
