"""Undoing a run: the live teardown, and `cleanup_run` for what a killed run left behind.

The teardown runs in CARLA's recommended order (carla-world.md section 8) no
matter in which order things were acquired:

    sensors stopped -> sensors and actors destroyed in one batch (children first)
    -> recorder stopped -> previous world settings restored (asynchronous)
    -> Traffic Manager synchronous mode off (and the run's own TM shut down)
    -> lease marked released

Every phase runs even if an earlier one failed; failures are reported once at the
end (as notes on the error in flight, if there is one). `cleanup_run` does the
same from a lease file, for a run that could not run its own teardown (`kill -9`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import carla

from runner.errors import RunError, ServerError
from runner.lease import (
    LEASE_FILE,
    Lease,
    LeasedActor,
    LeaseFile,
    read_lease,
    unreleased_runs,
    write_atomically,
)

SETTINGS_FIELDS = (
    "synchronous_mode",
    "no_rendering_mode",
    "fixed_delta_seconds",
    "substepping",
    "max_substep_delta_time",
    "max_substeps",
    "max_culling_distance",
    "deterministic_ragdolls",
    "tile_stream_distance",
    "actor_active_distance",
    "spectator_as_ego",
)
CLEANUP_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 2.0
CALLBACK_DRAIN_S = 0.5  # see Teardown._stop_sensors


def settings_to_dict(settings: Any) -> dict[str, Any]:
    """A `carla.WorldSettings` as plain data (for the lease and the manifest)."""
    return {name: getattr(settings, name) for name in SETTINGS_FIELDS}


def async_settings(saved: dict[str, Any]) -> Any:
    """The saved settings as a `carla.WorldSettings`, always asynchronous."""
    settings = carla.WorldSettings()
    for name, value in saved.items():
        if name in SETTINGS_FIELDS:
            setattr(settings, name, value)
    settings.synchronous_mode = False
    return settings


def destroy_in_one_batch(client: Any, ids: list[int]) -> dict[int, str]:
    """Destroy `ids` in one batch, in order; returns {id: error} for those that survived.

    The batch's own answers are the truth here: the client caches actor
    descriptions, so `world.get_actors(ids)` still lists actors destroyed a moment ago.
    An actor the server no longer knows ("not found") counts as destroyed.
    """
    if not ids:
        return {}
    responses = client.apply_batch_sync([carla.command.DestroyActor(i) for i in ids], False)
    return {
        actor_id: r.error
        for actor_id, r in zip(ids, responses, strict=True)
        if r.error and "not found" not in r.error
    }


def server_answers(client: Any) -> bool:
    """A quick liveness probe, so teardown does not wait out every call on a dead server."""
    client.set_timeout(PROBE_TIMEOUT_S)
    try:
        client.get_server_version()
    except RuntimeError:
        return False
    finally:
        client.set_timeout(CLEANUP_TIMEOUT_S)
    return True


def _role_order(actor: LeasedActor) -> int:
    return 0 if actor.role.startswith("sensor") else 1


@dataclass
class Teardown:
    """Collects undo actions as things are acquired; `close` runs them in CARLA's order."""

    client: Any
    lease: LeaseFile
    _sensors: list[Any] = field(default_factory=list)
    _actors: list[LeasedActor] = field(default_factory=list)
    _recorder: bool = False
    _restore: tuple[Any, dict[str, Any]] | None = None
    _traffic_managers: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def spawned(self, actor: Any, role: str) -> None:
        """Register an actor (a `carla.Actor`) right after it was spawned."""
        self.spawned_ids([(actor.id, actor.type_id)], role)
        if role.startswith("sensor"):
            self._sensors.append(actor)

    def spawned_ids(self, ids: list[tuple[int, str]], role: str) -> None:
        """Register batch-spawned actors by (id, type_id)."""
        leased = [LeasedActor(i, type_id, role) for i, type_id in ids]
        self._actors.extend(leased)
        self.lease.add_actors(leased)

    def recorder_started(self) -> None:
        self._recorder = True

    def settings_changed(self, world: Any, original: dict[str, Any]) -> None:
        """Remember the settings to restore (asynchronous) before applying new ones."""
        self._restore = (world, original)
        self.lease.update(settings_to_restore=original)

    def traffic_manager_synchronous(self, traffic_manager: Any) -> None:
        self._traffic_managers.append(traffic_manager)

    def stop_recorder(self) -> None:
        """Stop the recorder now (to query its file); teardown then skips it."""
        if self._recorder:
            self._recorder = False
            self.client.stop_recorder()

    def close(self) -> list[str]:
        """Run every phase; returns what failed (empty when all went well)."""
        self._phase("stop sensors", self._stop_sensors)
        if not server_answers(self.client):
            self.problems.append("teardown: the server does not answer; lease kept for cleanup")
            return list(self.problems)
        self._phase("destroy actors", self._destroy_actors)
        self._phase("stop recorder", self.stop_recorder)
        self._phase("restore world settings", self._restore_settings)
        self._phase("Traffic Manager synchronous mode off", self._traffic_managers_async)
        if not self.problems:
            self.lease.update(released=True)
        return list(self.problems)

    def _phase(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except (RuntimeError, RunError) as exc:
            self.problems.append(f"teardown: {what} failed: {exc}")

    def _stop_sensors(self) -> None:
        """Stop listening, after letting in-flight callbacks finish.

        The carla client keeps the GIL while `stop()` unsubscribes, and a callback still
        being delivered waits for the GIL: stopping then can deadlock the client. Between
        ticks no new data arrives, so a short pause with the GIL released drains them.
        """
        if self._sensors:
            time.sleep(CALLBACK_DRAIN_S)
        for sensor in reversed(self._sensors):
            with contextlib.suppress(RuntimeError):
                if sensor.is_listening():
                    sensor.stop()
        self._sensors.clear()

    def _destroy_actors(self) -> None:
        ordered = sorted(reversed(self._actors), key=_role_order)
        alive = destroy_in_one_batch(self.client, [a.id for a in ordered])
        self.lease.remove_actors({a.id for a in ordered} - alive.keys())
        self._actors = [a for a in self._actors if a.id in alive]
        if alive:
            names = ", ".join(f"{a.type_id} {a.id} ({alive[a.id]})" for a in self._actors)
            raise ServerError(f"could not destroy {names}")

    def _restore_settings(self) -> None:
        if self._restore is not None:
            world, original = self._restore
            world.apply_settings(async_settings(original))
            self._restore = None

    def _traffic_managers_async(self) -> None:
        """Sync off, then shut the run's own TM down: its thread would outlive the run
        and abort this process (TimeoutException) once the server is gone."""
        while self._traffic_managers:
            traffic_manager = self._traffic_managers.pop()
            traffic_manager.set_synchronous_mode(False)
            traffic_manager.shut_down()

    def __enter__(self) -> Teardown:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        problems = self.close()
        if problems and exc is not None:
            for problem in problems:
                exc.add_note(problem)
        elif problems:
            raise ServerError("; ".join(problems))


@dataclass(frozen=True)
class CleanupResult:
    """What `cleanup_run` found and did."""

    run_dir: Path
    destroyed: tuple[LeasedActor, ...] = ()
    already_gone: int = 0
    settings_restored: bool = False
    server_stopped: bool = False
    nothing_to_do: bool = False

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI."""
        if self.nothing_to_do:
            return [f"{self.run_dir}: lease already released, nothing to clean up"]
        lines = [f"{self.run_dir}: cleaned up"]
        if self.server_stopped:
            lines.append("  stopped the run's embedded server (its world went with it)")
        gone = self.already_gone
        lines.append(f"  destroyed {len(self.destroyed)} actor(s), {gone} already gone")
        if self.settings_restored:
            lines.append("  world settings restored (asynchronous)")
        return lines


@dataclass(frozen=True)
class CleanupReport:
    """The outcome of `cleanup_run`: one result per run folder it looked at."""

    path: Path
    results: tuple[CleanupResult, ...]

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI."""
        if not self.results:
            return [f"{self.path}: no run left anything behind"]
        return [line for result in self.results for line in result.summary_lines()]


def cleanup_run(path: Path) -> CleanupReport:
    """Remove what a run left on its server, using its lease file.

    `path` is one run folder, or a folder of runs (e.g. `outputs`): then every run
    whose lease was not released is cleaned up, oldest first.
    """
    if (path / LEASE_FILE).is_file():
        runs = [path]
    elif path.is_dir():
        runs = unreleased_runs(path)
    else:
        raise RunError(f"{path}: no such run folder")
    return CleanupReport(path, tuple(_cleanup_one(run_dir) for run_dir in runs))


def _cleanup_one(run_dir: Path) -> CleanupResult:
    try:
        lease = read_lease(run_dir)
    except (ValueError, KeyError, TypeError) as exc:
        raise RunError(f"{run_dir}: unreadable lease file: {exc}") from exc
    if lease is None:
        raise RunError(f"{run_dir}: no lease file (is this a run folder?)")
    if lease.released:
        return CleanupResult(run_dir, nothing_to_do=True)
    if lease.embedded_pid is not None:
        result = CleanupResult(run_dir, server_stopped=_stop_embedded(lease.embedded_pid))
    else:
        result = _clean_server(run_dir, lease)
    _mark_released(run_dir, lease)
    return result


def _stop_embedded(pid: int) -> bool:
    """Stop the run's own embedded server if it still runs (checked by its command line)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if b"runner.sim" not in cmdline:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    return True


def _clean_server(run_dir: Path, lease: Lease) -> CleanupResult:
    """Destroy the leased actors that still exist (same id and type) and restore settings."""
    where = f"{lease.host}:{lease.port}"
    try:
        client = carla.Client(lease.host, lease.port, 0)
        client.set_timeout(CLEANUP_TIMEOUT_S)
        world = client.get_world()
        present = {a.id: a.type_id for a in world.get_actors([a.id for a in lease.actors])}
        ours = [a for a in lease.actors if present.get(a.id) == a.type_id]
        ours.sort(key=_role_order)
        alive = destroy_in_one_batch(client, [a.id for a in ours])
        restored = _restore_if_synchronous(world, lease)
    except RuntimeError as exc:
        raise ServerError(f"cleanup of {run_dir} on server {where} failed: {exc}") from exc
    if alive:
        raise ServerError(f"cleanup of {run_dir}: could not destroy {alive}")
    gone = len(lease.actors) - len(ours)
    return CleanupResult(run_dir, tuple(ours), gone, settings_restored=restored)


def _restore_if_synchronous(world: Any, lease: Lease) -> bool:
    """A world left in synchronous mode by the dead run is frozen: put it back."""
    if lease.settings_to_restore is None or not world.get_settings().synchronous_mode:
        return False
    world.apply_settings(async_settings(lease.settings_to_restore))
    return True


def _mark_released(run_dir: Path, lease: Lease) -> None:
    done = replace(lease, actors=(), released=True)
    write_atomically(run_dir / LEASE_FILE, json.dumps(done.to_json(), indent=2) + "\n")


class Interrupts:
    """SIGINT and SIGTERM become `KeyboardInterrupt` in the main thread, so the stack unwinds.

    Signals raise only while `armed()`; inside `deferred()` (an acquisition and its
    registration) and after arming ends (teardown), a signal is held and raised once
    the `Interrupts` block exits, so teardown is never cut short. Outside the main
    thread (where handlers cannot be installed) this does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._armed = False
        self._depth = 0
        self.pending: int | None = None

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if self.pending is not None and exc is None:
            raise KeyboardInterrupt(signal.Signals(self.pending).name)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._armed and self._depth == 0:
            self._armed = False
            raise KeyboardInterrupt(signal.Signals(signum).name)
        if self.pending is None:
            self.pending = signum

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """Signals raise inside this block; teardown follows it, unarmed."""
        if self.pending is not None:
            raise KeyboardInterrupt(signal.Signals(self.pending).name)
        self._armed = True
        try:
            yield
        finally:
            self._armed = False

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold signals while an acquisition is made and its undo registered."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self._depth == 0 and self._armed and self.pending is not None:
            signum, self.pending = self.pending, None
            self._armed = False
            raise KeyboardInterrupt(signal.Signals(signum).name)
