"""Runs a Plan through the `carla` client and owns its cleanup.

    result = run_plan(plan, host=None, port=None, out_dir=Path("outputs"))
    print("\\n".join(result.summary_lines()))      # (the CLI does the printing)

One `ExitStack` holds every acquisition, each registered the moment it is made:
the embedded server (when the plan names none and no host/port is given), the
client `Session`, the `Teardown` that undoes spawns, settings, recorder and Traffic
Manager in CARLA's order, the image writers and the progress bar. SIGINT and
SIGTERM raise `KeyboardInterrupt` in the main thread, so the same unwinding runs
on success, errors, Ctrl-C and `kill`; a signal that arrives while a spawn is being
registered, or during teardown, is held until that is done.

Outputs go to `<out_dir>/<scenario>/<run-id>/`: `lease.json` (see runner.lease),
`<sensor>/<frame>.png`, the recording, `manifest.json`.

Test hook (fault injection): the environment variable RUNNER_FAULT_AT_TICK=N makes
the tick loop raise `RunError` right after captured tick N has been handed over.
"""

from __future__ import annotations

import dataclasses
import os
import random
import secrets
import socket
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import carla

from runner.capture import DEFAULT_FRAME_TIMEOUT_S, FrameCollector
from runner.cleanup import Interrupts, Teardown, settings_to_dict
from runner.compile import (
    ApplySettings,
    AttachSensor,
    ConfigureTrafficManager,
    Connect,
    ExportImages,
    LoadMap,
    Plan,
    Pose,
    QueryRecorder,
    SetWeather,
    SpawnEgo,
    SpawnProps,
    SpawnVehicles,
    StartRecorder,
    Step,
    TickLoop,
)
from runner.errors import RecorderError, RunError, ServerError, SpawnError
from runner.export.images import ImageSink
from runner.lease import Lease, LeaseFile
from runner.manifest import RunRecord, RunResult, write_manifest
from runner.progress import Progress
from runner.sim.process import EmbeddedServer, ServerStartError

FAULT_ENV = "RUNNER_FAULT_AT_TICK"
MIN_BLOCKED_S, MIN_BLOCKED_MOVE_CM = 30.0, 100.0  # CARLA's example values for "blocked"
DEFAULT_PORT = 2000


class Session:
    """One client connection for one run: UNOPENED -> OPEN (`with`) -> CLOSED.

    Starts an embedded server child for the run when `embedded`, and stops it on exit.
    """

    def __init__(
        self,
        connect: Connect,
        host: str,
        port: int,
        maps_dirs: Sequence[str],
        log_path: Path | None = None,
    ) -> None:
        self.connect = connect
        self._log_path = log_path
        self.host, self.port = host, port
        self.embedded_pid: int | None = None
        self.client: Any = None
        self._maps_dirs = list(maps_dirs)
        self._stack = ExitStack()

    def __enter__(self) -> Session:
        with ExitStack() as stack:
            if self.connect.embedded:
                self._start_embedded(stack)
            self.client = carla.Client(self.host, self.port, 0)
            self.client.set_timeout(self.connect.timeout_s)
            try:
                self.client.get_server_version()
            except RuntimeError as exc:
                where = f"{self.host}:{self.port}"
                raise ServerError(f"no CARLA server answers at {where}: {exc}") from exc
            self._stack = stack.pop_all()
        return self

    def _start_embedded(self, stack: ExitStack) -> None:
        try:
            embedded = EmbeddedServer(maps_dirs=self._maps_dirs, log_path=self._log_path)
            server = stack.enter_context(embedded)
        except ServerStartError as exc:
            raise ServerError(f"the embedded server did not start: {exc}") from exc
        self.host, self.port, self.embedded_pid = server.host, server.port, server.pid

    def load_world(self, name: str) -> Any:
        """`client.load_world` under the longer map-load timeout."""
        self.client.set_timeout(self.connect.load_timeout_s)
        try:
            return self.client.load_world(name)
        finally:
            self.client.set_timeout(self.connect.timeout_s)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.client = None
        self._stack.close()


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
    maps_dirs: Sequence[str] = (),
    frame_timeout_s: float = DEFAULT_FRAME_TIMEOUT_S,
) -> RunResult:
    """Execute `plan`; `host`/`port` override the plan's server (and disable embedding)."""
    run_id, run_dir = new_run_dir(out_dir, plan.name)
    record = RunRecord(run_id, run_dir)
    execution = _Execution(plan, record, frame_timeout_s)
    with Interrupts() as interrupts, ExitStack() as stack:
        stack.push(execution.finish)
        with interrupts.armed():
            session = _session(plan, host, port, maps_dirs, run_dir / "server.log")
            execution.run(stack, interrupts, session)
    return RunResult(plan.name, record, run_dir / "manifest.json")


def _session(
    plan: Plan, host: str | None, port: int | None, maps_dirs: Sequence[str], log: Path
) -> Session:
    """The plan's server, unless `host`/`port` name another one (then nothing is embedded)."""
    (connect,) = plan.steps_of(Connect)
    if host is not None or port is not None:
        host, port = host or connect.host, port or connect.port
        connect = Connect(False, host, port, connect.timeout_s, connect.load_timeout_s)
    where = (connect.host or "127.0.0.1", connect.port or DEFAULT_PORT)
    return Session(connect, *where, maps_dirs, log_path=log if connect.embedded else None)


class _Execution:
    """The state of one run while its steps execute (internal to run_plan)."""

    def __init__(self, plan: Plan, record: RunRecord, frame_timeout_s: float) -> None:
        self.plan = plan
        self.record = record
        self.collector = FrameCollector(frame_timeout_s)
        loops = plan.steps_of(TickLoop)
        self.capture_every = dict(loops[0].capture_every) if loops else {}
        self.started = time.monotonic()

    def run(self, stack: ExitStack, interrupts: Interrupts, session: Session) -> None:
        """Connect, then execute every step in plan order."""
        t0 = time.monotonic()
        session = stack.enter_context(session)
        self.session, self.stack = session, stack
        self.record.server = {
            "host": session.host,
            "port": session.port,
            "embedded": session.connect.embedded,
            "embedded_pid": session.embedded_pid,
        }
        lease = LeaseFile(
            self.record.run_dir,
            Lease(session.host, session.port, session.embedded_pid, run_id=self.record.run_id),
        )
        self.teardown = stack.enter_context(Teardown(session.client, lease))
        self.spawner = _Spawner(session.client, self.teardown, interrupts, self.plan.seeds.python)
        self.record.timings_s["connect"] = time.monotonic() - t0
        for step in self.plan.steps:
            self._execute(step)

    def _execute(self, step: Step) -> None:
        handler = getattr(self, f"_{type(step).__name__}", None)
        if handler is None:
            return
        t0 = time.monotonic()
        try:
            handler(step)
        except RuntimeError as exc:
            raise ServerError(f"{type(step).__name__}: {exc}") from exc
        key = type(step).__name__
        self.record.timings_s[key] = self.record.timings_s.get(key, 0.0) + time.monotonic() - t0

    def _LoadMap(self, step: LoadMap) -> None:
        world = self.session.client.get_world()
        self.original_settings = settings_to_dict(world.get_settings())
        current = world.get_map().name.rsplit("/", 1)[-1]
        if step.xodr_path is not None:
            world = self._load_xodr(step.xodr_path)
        elif current != step.name:
            try:
                world = self.session.load_world(step.name)
            except RuntimeError as exc:
                if "not found" not in str(exc):
                    raise
                raise RunError(_missing_map_hint(step.name, str(exc))) from exc
        self.world = world
        self.record.map_name = world.get_map().name.rsplit("/", 1)[-1]

    def _load_xodr(self, path: str) -> Any:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise RunError(f"cannot read OpenDRIVE file {path}: {exc}") from exc
        client = self.session.client
        client.set_timeout(self.session.connect.load_timeout_s)
        try:
            return client.generate_opendrive_world(text)
        finally:
            client.set_timeout(self.session.connect.timeout_s)

    def _ApplySettings(self, step: ApplySettings) -> None:
        self.teardown.settings_changed(self.world, self.original_settings)
        settings = self.world.get_settings()
        for name, value in dataclasses.asdict(step).items():  # the fields carry CARLA's names
            setattr(settings, name, value)
        self.world.apply_settings(settings)

    def _ConfigureTrafficManager(self, step: ConfigureTrafficManager) -> None:
        port = free_port(step.port)
        tm = self.session.client.get_trafficmanager(port)
        self.teardown.traffic_manager_synchronous(tm)
        self.teardown.lease.update(traffic_manager_port=port)
        tm.set_synchronous_mode(step.synchronous_mode)
        tm.set_random_device_seed(step.seed)
        tm.global_percentage_speed_difference(step.global_speed_difference_pct)
        tm.set_hybrid_physics_mode(step.hybrid_physics)
        tm.set_hybrid_physics_radius(step.hybrid_physics_radius_m)
        self.spawner.tm_port = port
        self.record.traffic_manager_port = port

    def _SetWeather(self, step: SetWeather) -> None:
        weather = self.world.get_weather()
        for name, value in step.parameters:
            setattr(weather, name, value)
        self.world.set_weather(weather)

    def _SpawnEgo(self, step: SpawnEgo) -> None:
        self.spawner.ego(self.world, step)
        self.record.spawned["ego"] = 1

    def _SpawnVehicles(self, step: SpawnVehicles) -> None:
        spawned, skipped = self.spawner.vehicles(self.world, step)
        self.record.spawned["vehicles"] = spawned
        if skipped:
            self.record.spawned["vehicles_skipped_occupied"] = skipped

    def _SpawnProps(self, step: SpawnProps) -> None:
        self.spawner.props(self.world, step)
        self.record.spawned["props"] = len(step.props)

    def _AttachSensor(self, step: AttachSensor) -> None:
        sensor = self.spawner.sensor(self.world, step)
        every = self.capture_every.get(step.name, 1)
        sensor_tick_s = float(dict(step.attributes).get("sensor_tick", 0.0))
        event = step.sensor_type == "collision"
        callback = self.collector.add_sensor(
            step.name, capture_every=every, sensor_tick_s=sensor_tick_s, event=event
        )
        sensor.listen(callback)
        self.record.spawned["sensors"] = self.record.spawned.get("sensors", 0) + 1
        self.record.sensors = self.collector.counts()

    def _StartRecorder(self, step: StartRecorder) -> None:
        path = (self.record.run_dir / step.file).resolve()
        try:
            self.session.client.start_recorder(str(path))
        except RuntimeError as exc:
            raise RecorderError(f"cannot start the recorder into {path}: {exc}") from exc
        self.teardown.recorder_started()

    def _TickLoop(self, step: TickLoop) -> None:
        exports = {s.sensor: s.converter for s in self.plan.steps_of(ExportImages)}
        self.sink = self.stack.enter_context(ImageSink(self.record.run_dir, exports))
        progress = self.stack.enter_context(Progress(self.plan.name, step.ticks))
        fault_at = int(os.environ.get(FAULT_ENV, "-1"))
        for _ in range(step.warmup_ticks):
            self.collector.skip(self._advance(step.synchronous_mode))
        t0 = time.monotonic()
        for index in range(step.ticks):
            bundle = self.collector.collect(self._advance(step.synchronous_mode), index)
            for name, data in bundle.data.items():
                if self.sink.wants(name):
                    self.sink.submit(name, data)
            self.record.ticks_done += 1
            progress.advance()
            if index == fault_at:
                raise RunError(f"injected fault at tick {index} ({FAULT_ENV})")
        self.record.timings_s["loop"] = time.monotonic() - t0
        progress.close()

    def _advance(self, synchronous: bool) -> int:
        """One step of the world: our tick in synchronous mode, the server's otherwise."""
        if synchronous:
            return int(self.world.tick())
        return int(self.world.wait_for_tick().frame)

    def _ExportImages(self, step: ExportImages) -> None:
        t0 = time.monotonic()
        self.sink.close()
        self.record.written = self.sink.written()
        self.record.timings_s["loop"] = self.record.timings_s.get("loop", 0.0)
        self.record.timings_s["loop"] += time.monotonic() - t0

    def _QueryRecorder(self, step: QueryRecorder) -> None:
        path = str((self.record.run_dir / step.file).resolve())
        client = self.session.client
        try:
            self.teardown.stop_recorder()
            for query in step.queries:
                text = _recorder_query(client, path, query)
                (self.record.run_dir / f"{step.file}.{query}.txt").write_text(text)
        except RuntimeError as exc:
            raise RecorderError(f"recorder query on {path} failed: {exc}") from exc

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
        if hasattr(self, "sink"):
            self.record.written = self.sink.written()
        if hasattr(self, "teardown"):
            self.record.teardown_problems = self.teardown.problems
        self.record.timings_s["total"] = time.monotonic() - self.started
        write_manifest(self.plan, self.record)
        return False


def _recorder_query(client: Any, path: str, query: str) -> str:
    if query == "file_info":
        return str(client.show_recorder_file_info(path, False))
    if query == "collisions":
        return str(client.show_recorder_collisions(path, "a", "a"))
    return str(client.show_recorder_actors_blocked(path, MIN_BLOCKED_S, MIN_BLOCKED_MOVE_CM))


def pose_transform(pose: Pose) -> Any:
    """A plan pose as a `carla.Transform`."""
    return carla.Transform(
        carla.Location(x=pose.x, y=pose.y, z=pose.z),
        carla.Rotation(pitch=pose.pitch, yaw=pose.yaw, roll=pose.roll),
    )


def free_port(preferred: int) -> int:
    """`preferred` if nothing on this host listens there, else a port the OS picks."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise ServerError("no free port for the Traffic Manager")


def _is_occupied(error: str) -> bool:
    """CARLA's message for a spawn point that another actor already covers."""
    return "collision" in error.lower()


class _Spawner:
    """Spawns the plan's actors with seeded choices; each undo is registered at once."""

    def __init__(self, client: Any, teardown: Teardown, interrupts: Interrupts, seed: int) -> None:
        self.client = client
        self.teardown = teardown
        self.interrupts = interrupts
        self.rng = random.Random(seed)
        self.named: dict[str, Any] = {}
        self.used_points: set[int] = set()
        self.tm_port = 8000

    def _blueprint(self, world: Any, pattern: str, line: int | None) -> Any:
        """The exact blueprint, or a seeded choice among those the filter matches."""
        choices = sorted(world.get_blueprint_library().filter(pattern), key=lambda b: b.id)
        if not choices:
            raise SpawnError(f"no blueprint matches {pattern!r}", line=line)
        exact = [b for b in choices if b.id == pattern]
        return exact[0] if exact else self.rng.choice(choices)

    def _ego_transform(self, world: Any, step: SpawnEgo) -> Any:
        if step.pose is not None:
            return pose_transform(step.pose)
        points = world.get_map().get_spawn_points()
        index = self.rng.randrange(len(points)) if step.spawn_point in (None, "random") else 0
        if isinstance(step.spawn_point, int):
            index = step.spawn_point
        if not 0 <= index < len(points):
            message = f"ego spawn point {index} does not exist (map has {len(points)})"
            raise SpawnError(message, line=step.line)
        self.used_points.add(index)
        return points[index]

    def ego(self, world: Any, step: SpawnEgo) -> None:
        bp = self._blueprint(world, step.blueprint or step.filter, step.line)
        for name, value in step.attributes:
            if bp.has_attribute(name):
                bp.set_attribute(name, value)
        transform = self._ego_transform(world, step)
        try:
            with self.interrupts.deferred():
                ego = world.spawn_actor(bp, transform)
                self.teardown.spawned(ego, "ego")
        except RuntimeError as exc:
            raise SpawnError(f"ego {bp.id} could not spawn: {exc}", line=step.line) from exc
        self.named["ego"] = ego
        if step.autopilot:
            ego.set_autopilot(True, self.tm_port)

    def vehicles(self, world: Any, step: SpawnVehicles) -> tuple[int, int]:
        """Spawn up to `count` in one batch; returns (spawned, skipped: point occupied)."""
        points = world.get_map().get_spawn_points()
        free = [p for i, p in enumerate(points) if i not in self.used_points]
        self.rng.shuffle(free)
        library = sorted(world.get_blueprint_library().filter(step.filter), key=lambda b: b.id)
        bps = [self.rng.choice(library) for _ in free[: step.count]]
        cmd = carla.command
        batch = [
            cmd.SpawnActor(bp, point).then(
                cmd.SetAutopilot(cmd.FutureActor, step.autopilot, self.tm_port)
            )
            for bp, point in zip(bps, free, strict=False)
        ]
        with self.interrupts.deferred():
            responses = self.client.apply_batch_sync(batch, False)
            ids = [(r.actor_id, bp.id) for r, bp in zip(responses, bps, strict=True) if r.actor_id]
            self.teardown.spawned_ids(ids, "vehicle")
        errors = [r.error for r in responses if r.error]
        real = [e for e in errors if not _is_occupied(e)]
        if real:
            message = f"{len(real)} of {len(batch)} vehicles failed to spawn: {real[0]}"
            raise SpawnError(message, line=step.line)
        return len(ids), len(errors)

    def props(self, world: Any, step: SpawnProps) -> None:
        library = world.get_blueprint_library()
        batch = [
            carla.command.SpawnActor(library.find(p.blueprint), pose_transform(p.pose))
            for p in step.props
        ]
        with self.interrupts.deferred():
            responses = self.client.apply_batch_sync(batch, False)
            pairs = zip(responses, step.props, strict=True)
            ids = [(r.actor_id, p.blueprint) for r, p in pairs if r.actor_id]
            self.teardown.spawned_ids(ids, "prop")
        for response, prop in zip(responses, step.props, strict=True):
            if response.error:
                raise SpawnError(f"prop {prop.blueprint}: {response.error}", line=prop.line)
            if prop.name is not None:
                self.named[prop.name] = world.get_actor(response.actor_id)

    def sensor(self, world: Any, step: AttachSensor) -> Any:
        bp = world.get_blueprint_library().find(step.blueprint)
        for name, value in step.attributes:
            bp.set_attribute(name, value)
        parent = None if step.parent is None else self.named[step.parent]
        transform = pose_transform(step.pose)
        try:
            with self.interrupts.deferred():
                sensor = world.spawn_actor(bp, transform, attach_to=parent)
                self.teardown.spawned(sensor, f"sensor:{step.name}")
        except RuntimeError as exc:
            message = f"sensor {step.name!r} ({step.blueprint}) could not spawn: {exc}"
            raise SpawnError(message, line=step.line) from exc
        return sensor


def _missing_map_hint(name: str, server_text: str) -> str:
    """CARLA towns need their OpenDRIVE file on the embedded simulator: say how to get it."""
    return (
        f"{server_text}. The embedded simulator builds CARLA towns from their OpenDRIVE file:"
        f" put {name}.xodr in a folder given with --maps-dir or CARLA_MAPS_PATH (or a CARLA"
        " install's CarlaUE4/Content/Carla/Maps/OpenDrive via CARLA_ROOT), or run against a"
        " CARLA server with --host/--port. Built-in maps need no file: GridTown, CrossTown."
    )
