"""`cleanup_run`: remove what a killed run left on its server, from its lease file.

A run that could not run its own teardown (`kill -9`, a crash, a power cut) leaves
`lease.json` unreleased. This destroys the leased actors that still exist (same id
and type), puts a world left in synchronous mode back to asynchronous, or stops the
run's own embedded server, then marks the lease released.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import carla

from runner.errors import RunError, ServerError
from runner.lease import (
    LEASE_FILE,
    Lease,
    LeasedActor,
    read_lease,
    sensors_first,
    unreleased_runs,
    write_atomically,
)
from runner.world_ops import CLEANUP_TIMEOUT_S, async_settings, destroy_in_one_batch


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
        ours = sensors_first(ours)
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
