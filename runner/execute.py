"""Runs a Plan through the `carla` client: each step by exactly one handler, in order.

    result = run_plan(plan, out_dir=Path("outputs"))
    print("\\n".join(result.summary_lines()))      # (the CLI does the printing)

One `ExitStack` holds every acquisition, each registered the moment it is made: the
session (and its embedded server), the `Undo` that reverses spawns, settings,
recorder and Traffic Manager in CARLA's order, the exports and the progress bar.
SIGINT and SIGTERM raise `KeyboardInterrupt` in the main thread (`Interrupts`), so
the same unwinding runs on success, errors, Ctrl-C and `kill`. On success the plan's
own `CloseExports` and `Teardown` steps do that work; the stack then has nothing left.

Outputs go to `<out_dir>/<scenario>/<run-id>/`: `lease.json` (see runner.lease),
`<sensor>/<frame>.png`, the recording, `manifest.json` (with the steps executed).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, assert_never

from runner.capture import DEFAULT_FRAME_TIMEOUT_S, FrameCollector
from runner.client_errors import translate
from runner.compile import retarget
from runner.errors import (
    MapMissing,
    RecorderError,
    RunError,
    ServerError,
    ServerLost,
    ServerTimeout,
)
from runner.export.sinks import ExportSinks
from runner.export_feed import ExportFeed, note_exports
from runner.interrupts import Interrupts
from runner.lease import Lease, LeaseFile
from runner.manifest import RunRecord, RunResult, client_versions, write_manifest
from runner.plan import (
    ApplySettings,
    AttachSensor,
    CloseExports,
    ConfigureTrafficManager,
    Connect,
    LoadMap,
    OpenExports,
    Plan,
    QueryRecorder,
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
from runner.progress import Progress
from runner.session import Session, free_port, traffic_manager_kind
from runner.spawn import Spawner
from runner.teardown import Undo
from runner.tick_loop import RunHooks, run_ticks
from runner.watchdog import DEADLINE_MARGIN_S, TickWatchdog
from runner.world_ops import CLEANUP_TIMEOUT_S, server_answers, settings_to_dict

MIN_BLOCKED_S, MIN_BLOCKED_MOVE_CM = 30.0, 100.0  # CARLA's example values for "blocked"
EVENT_SENSORS = frozenset({"collision"})


def new_run_dir(out_dir: Path, name: str) -> tuple[str, Path]:
    """A fresh `<out_dir>/<name>/<run-id>` folder (run id: UTC time + random suffix)."""
    run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
    run_dir = out_dir / name / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    return run_id, run_dir


def run_plan(
    plan: Plan,
    *,
    host: str | None = None,
    port: int | None = None,
    out_dir: Path = Path("outputs"),
    run_dir: Path | None = None,
    maps_dirs: Sequence[Path | str] = (),
    frame_timeout_s: float = DEFAULT_FRAME_TIMEOUT_S,
    hooks: RunHooks | None = None,
) -> RunResult:
    """Execute `plan`; `host`/`port` retarget it to that server (no embedding).

    `run_dir`, when given, is the exact (new or empty) output folder; otherwise a fresh
    `<out_dir>/<plan name>/<run-id>` is made. `maps_dirs` is the map search path handed
    to an embedded server.
    """
    plan = retarget(plan, host, port)
    if run_dir is None:
        run_id, run_dir = new_run_dir(out_dir, plan.name)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        run_id = run_dir.name
    record = RunRecord(run_id, run_dir)
    execution = _Execution(plan, record, frame_timeout_s, [Path(d) for d in maps_dirs], hooks)
    with Interrupts() as interrupts, ExitStack() as stack:
        stack.push(execution.finish)
        with interrupts.armed():
            execution.run(stack, interrupts)
    return RunResult(plan.name, record, run_dir / "manifest.json")


class _Execution:
    """The state of one run while its steps execute (internal to run_plan)."""

    def __init__(
        self,
        plan: Plan,
        record: RunRecord,
        frame_timeout_s: float,
        maps_dirs: list[Path],
        hooks: RunHooks | None,
    ) -> None:
        self.plan = plan
        self.record = record
        self.maps_dirs = maps_dirs
        self.hooks = hooks or RunHooks()
        self.collector = FrameCollector(frame_timeout_s)
        self.started = time.monotonic()
        self.undo: Undo | None = None
        self.exports: ExportSinks | None = None

    def run(self, stack: ExitStack, interrupts: Interrupts) -> None:
        """Execute every step in plan order."""
        self.stack, self.interrupts = stack, interrupts
        for step in self.plan.steps:
            self._execute(step)

    def _execute(self, step: Step) -> None:
        name = type(step).__name__
        t0 = time.monotonic()
        try:
            self._dispatch(step)
        except RuntimeError as exc:  # the carla client's errors, anywhere in a step
            raise self._lost_or(translate(exc, name)) from exc
        self.record.steps_executed.append(name)
        self.record.timings_s[name] = self.record.timings_s.get(name, 0.0) + (time.monotonic() - t0)

    def _lost_or(self, error: RunError) -> RunError:
        """A time-out from a server that no longer answers at all is a lost server."""
        session = getattr(self, "session", None)
        lost = (
            isinstance(error, ServerTimeout)
            and session is not None
            and not server_answers(session.client)
        )
        if lost and session is not None:
            where = f"{session.host}:{session.port}"
            return ServerLost(f"the server at {where} stopped answering ({error})")
        return error

    def _dispatch(self, step: Step) -> None:
        match step:
            case Connect():
                self._connect(step)
            case LoadMap():
                self._load_map(step)
            case ApplySettings():
                self._apply_settings(step)
            case ConfigureTrafficManager():
                self._configure_traffic_manager(step)
            case SetWeather():
                self._set_weather(step)
            case SpawnEgo():
                self.spawner.ego(self.world, step)
                self.record.spawned["ego"] = 1
            case SpawnVehicles():
                self._spawn_vehicles(step)
            case SpawnProps():
                self.spawner.props(self.world, step)
                self.record.spawned["props"] = len(step.props)
            case AttachSensor():
                self._attach_sensor(step)
            case StartRecorder():
                self._start_recorder(step)
            case OpenExports():
                self._open_exports(step)
            case TickLoop():
                self._tick_loop(step)
            case CloseExports():
                self._close_exports()
            case StopRecorder():
                self._undo.stop_recorder()
            case QueryRecorder():
                self._query_recorder(step)
            case Teardown():
                self._teardown(step)
            case _:
                assert_never(step)

    @property
    def _undo(self) -> Undo:
        if self.undo is None:
            raise RunError("the plan acquires something before its Connect step")
        return self.undo

    def _connect(self, step: Connect) -> None:
        sensors = len(self.plan.steps_of(AttachSensor))
        log_path = self.record.run_dir / "server.log" if step.embedded else None
        session = Session(
            step,
            maps_dirs=self.maps_dirs,
            log_path=log_path,
            recordings_dir=self.record.run_dir,  # the server writes recordings only there
            listening_sensors=sensors,
        )
        self.session = self.stack.enter_context(session)
        self.record.server = {
            "host": session.host,
            "port": session.port,
            "embedded": step.embedded,
            "embedded_pid": session.embedded_pid,
        }
        self.record.versions = client_versions(session.client, session.server_version)
        lease = Lease(session.host, session.port, session.embedded_pid, run_id=self.record.run_id)
        lease_file = LeaseFile(self.record.run_dir, lease)
        self.undo = self.stack.enter_context(Undo(session.client, lease_file))
        self.spawner = Spawner(session.client, self.undo, self.interrupts, self.plan.seeds.python)

    def _load_map(self, step: LoadMap) -> None:
        client = self.session.client
        world = client.get_world()
        self.original_settings = settings_to_dict(world.get_settings())
        current = world.get_map().name.rsplit("/", 1)[-1]
        if step.xodr_path is not None:
            world = self.session.call_slow(
                "building the OpenDRIVE world", client.generate_opendrive_world, _read(step)
            )
        elif current != step.name:
            try:
                world = self.session.call_slow(f"loading {step.name}", client.load_world, step.name)
            except MapMissing as exc:
                raise MapMissing(_missing_map_hint(step.name, str(exc))) from exc
        self.world = world
        self.record.map_name = world.get_map().name.rsplit("/", 1)[-1]

    def _apply_settings(self, step: ApplySettings) -> None:
        self._undo.settings_changed(self.original_settings)
        settings = self.world.get_settings()
        for name, value in dataclasses.asdict(step).items():  # the fields carry CARLA's names
            setattr(settings, name, value)
        self.world.apply_settings(settings)

    def _configure_traffic_manager(self, step: ConfigureTrafficManager) -> None:
        port = free_port(step.port)
        tm = self.session.client.get_trafficmanager(port)
        self._undo.traffic_manager_synchronous(tm)
        self.record.traffic_manager = traffic_manager_kind(self.session, port)
        self._undo.lease.update(traffic_manager_port=port)
        tm.set_synchronous_mode(step.synchronous_mode)
        tm.set_random_device_seed(step.seed)
        tm.global_percentage_speed_difference(step.global_speed_difference_pct)
        tm.set_hybrid_physics_mode(step.hybrid_physics)
        tm.set_hybrid_physics_radius(step.hybrid_physics_radius_m)
        self.spawner.tm_port = port
        self.record.traffic_manager_port = port

    def _set_weather(self, step: SetWeather) -> None:
        weather = self.world.get_weather()
        for name, value in step.parameters:
            setattr(weather, name, value)
        self.world.set_weather(weather)

    def _spawn_vehicles(self, step: SpawnVehicles) -> None:
        spawned, skipped = self.spawner.vehicles(self.world, step)
        self.record.spawned["vehicles"] = spawned
        if skipped:
            self.record.spawned["vehicles_skipped_occupied"] = skipped

    def _attach_sensor(self, step: AttachSensor) -> None:
        sensor = self.spawner.sensor(self.world, step)
        callback = self.collector.add_sensor(
            step.name,
            capture_every=step.capture_every,
            sensor_tick_s=float(dict(step.attributes).get("sensor_tick", 0.0)),
            event=step.sensor_type in EVENT_SENSORS,
        )
        sensor.listen(callback)
        self.record.spawned["sensors"] = self.record.spawned.get("sensors", 0) + 1
        self.record.sensors = self.collector.counts()

    def _start_recorder(self, step: StartRecorder) -> None:
        path = (self.record.run_dir / step.file).resolve()
        try:
            self.session.client.start_recorder(str(path))
        except RuntimeError as exc:
            raise RecorderError(f"cannot start the recorder into {path}: {exc}") from exc
        self._undo.recorder_started()

    def _open_exports(self, step: OpenExports) -> None:
        sinks = ExportSinks.open(self.record.run_dir, step.export, dict(step.sensors))
        self.exports = self.stack.enter_context(sinks)

    def _tick_loop(self, step: TickLoop) -> None:
        exports = self.exports
        if exports is None:
            raise RunError("the plan ticks before its OpenExports step")
        ego = self.spawner.named.get("ego")
        feed = ExportFeed(exports, self.world, None if ego is None else ego.id)
        deadline_s = self.hooks.tick_deadline_s or (
            self.session.connect.timeout_s + DEADLINE_MARGIN_S
        )
        watchdog = TickWatchdog(deadline_s, self.record.run_dir, block_at=self.hooks.block_tick_at)
        self.stack.callback(watchdog.close)
        try:
            run_ticks(
                step,
                world=self.world,
                collector=self.collector,
                sinks=[feed.feed],
                progress=self.stack.enter_context(Progress(self.plan.name, step.ticks)),
                record=self.record,
                hooks=self.hooks,
                watchdog=watchdog,
            )
        finally:
            if watchdog.stalled:
                self._undo.client_stuck(self.session.fresh_client(CLEANUP_TIMEOUT_S))
                self.record.client_stuck = True

    def _close_exports(self) -> None:
        if self.exports is not None:
            note_exports(self.record, self.exports.close())

    def _query_recorder(self, step: QueryRecorder) -> None:
        path = str((self.record.run_dir / step.file).resolve())
        client = self.session.client
        try:
            for query in step.queries:
                text = _recorder_query(client, path, query)
                (self.record.run_dir / f"{step.file}.{query}.txt").write_text(text)
        except RuntimeError as exc:
            raise RecorderError(f"recorder query on {path} failed: {exc}") from exc

    def _teardown(self, step: Teardown) -> None:
        problems = self._undo.close()
        if problems:
            raise ServerError("; ".join(problems))

    def finish(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        """Last on the stack: note the outcome and write the manifest, however the run ended."""
        if exc is None:
            self.record.status = "ok"
        else:
            interrupted = isinstance(exc, KeyboardInterrupt)
            self.record.status = "interrupted" if interrupted else "failed"
            self.record.error = f"{type(exc).__name__}: {exc}"
        self.record.sensors = self.collector.counts()
        if self.exports is not None:  # closed by now; close() again returns its summary
            note_exports(self.record, self.exports.close(raise_errors=False))
        if self.undo is not None:
            self.record.teardown_problems = self.undo.problems
        self.record.timings_s["total"] = time.monotonic() - self.started
        write_manifest(self.plan, self.record)
        return False


def _read(step: LoadMap) -> str:
    assert step.xodr_path is not None
    try:
        return Path(step.xodr_path).read_text()
    except OSError as exc:
        raise RunError(f"cannot read OpenDRIVE file {step.xodr_path}: {exc}") from exc


def _recorder_query(client: Any, path: str, query: str) -> str:
    if query == "file_info":
        return str(client.show_recorder_file_info(path, False))
    if query == "collisions":
        return str(client.show_recorder_collisions(path, "a", "a"))
    return str(client.show_recorder_actors_blocked(path, MIN_BLOCKED_S, MIN_BLOCKED_MOVE_CM))


def _missing_map_hint(name: str, server_text: str) -> str:
    """CARLA towns need their OpenDRIVE file on the embedded simulator: say how to get it."""
    return (
        f"{server_text}. The embedded simulator builds CARLA towns from their OpenDRIVE file:"
        f" put {name}.xodr in a folder given with --maps-dir or CARLA_MAPS_PATH (or a CARLA"
        " install's CarlaUE4/Content/Carla/Maps/OpenDrive via CARLA_ROOT), or run against a"
        " CARLA server with --host/--port. Built-in maps need no file: GridTown, CrossTown."
    )
