"""Local sweep executor: N worker processes, one variant at a time per endpoint.

Each running variant is a fresh spawned process (`runner.sweep.worker`) with its own
simulator (an embedded server started by `run_plan`, or one of the `--server`
endpoints, never shared by two variants at once) and its own Traffic Manager port.
The main process only schedules: it waits on the workers' pipes and process
sentinels, reports each end the moment it happens and keeps sweep.json current.

A worker that dies without reporting (killed) is cleaned up through its lease
before its endpoint takes the next variant. SIGINT/SIGTERM of the sweep stop new
starts and are forwarded to the running workers, which tear their runs down and
report "interrupted"; then `KeyboardInterrupt` is raised to the caller.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import FrameType
from typing import Any

from runner.sweep.index import Outcome, VariantEntry, outcome_of, release_leftovers
from runner.sweep.state import Endpoint, Reporter, SweepState
from runner.sweep.worker import Job, worker_main

POLL_S = 0.25
STOP_GRACE_S = 90.0
"""How long interrupted workers get to tear down before they are killed."""


@dataclass
class _Running:
    entry: VariantEntry
    slot: int
    process: Any
    conn: Connection
    run_dir: Path
    started: float = field(default_factory=time.monotonic)
    reported: Outcome | None = None


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free right now (held open together so they differ)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def plan_endpoint(entry: VariantEntry, state: SweepState) -> str | None:
    """The server a variant's own scenario names (`server:`), as HOST:PORT, if any."""
    server = getattr(state.variants[entry.name].scenario, "server", None)
    return None if server is None else f"{server.host}:{server.port}"


class LocalExecutor:
    """Runs a prepared sweep's pending variants on this machine."""

    def __init__(
        self,
        state: SweepState,
        reporter: Reporter,
        *,
        workers: int,
        servers: Sequence[Endpoint] = (),
        maps_dirs: Sequence[Path] = (),
    ) -> None:
        self.state = state
        self.reporter = reporter
        self.slots: list[Endpoint] = list(servers)[:workers] if servers else [Endpoint()] * workers
        self.tm_ports = free_ports(len(self.slots))
        self.maps_dirs = tuple(str(d) for d in maps_dirs)
        self.running: dict[int, _Running] = {}
        self.stop_signal: int | None = None
        self._context = multiprocessing.get_context("spawn")

    def run(self) -> None:
        """Until every pending variant ended, or a signal stopped the sweep."""
        with self._signals():
            queue = self.state.pending()
            while queue or self.running:
                if self.stop_signal is None:
                    queue = self._fill(queue)
                self._wait_once()
                self.reporter.progress(self.state.snapshot())
                if self.stop_signal is not None:
                    name = signal.Signals(self.stop_signal).name
                    self.reporter.note(f"{name}: stopping {len(self.running)} running variant(s)")
                    self._stop_all()
                    break
        if self.stop_signal is not None:
            raise KeyboardInterrupt(signal.Signals(self.stop_signal).name)

    def _fill(self, queue: list[VariantEntry]) -> list[VariantEntry]:
        """Start variants on free slots; a variant whose own server is busy waits."""
        busy = {plan_endpoint(r.entry, self.state) for r in self.running.values()} - {None}
        left = []
        for entry in queue:
            slot = self._free_slot()
            own = plan_endpoint(entry, self.state) if self.slots[0].embedded else None
            if slot is None or (own is not None and own in busy):
                left.append(entry)
                continue
            busy.add(own)
            self._start(entry, slot)
        return left

    def _free_slot(self) -> int | None:
        return next((i for i in range(len(self.slots)) if i not in self.running), None)

    def _start(self, entry: VariantEntry, slot: int) -> None:
        endpoint = self.slots[slot]
        variant_dir = self.state.variant_dir(entry)
        run_dir = self.state.new_run_dir(entry)
        job = Job(
            variant=entry.name,
            plan_name=f"{self.state.sweep.name}/{entry.folder}",
            scenario_path=str(variant_dir / "scenario.yaml"),
            run_dir=str(run_dir),
            host=endpoint.host,
            port=endpoint.port,
            traffic_manager_port=self.tm_ports[slot],
            maps_dirs=self.maps_dirs,
            log_path=str(variant_dir / "worker.log"),
        )
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=worker_main, args=(job, sender), daemon=False)
        process.start()
        sender.close()
        self.running[slot] = _Running(entry, slot, process, receiver, run_dir)
        self.state.mark_running(entry, str(endpoint))
        self.reporter.started(entry)

    def _wait_once(self) -> None:
        """Handle whatever arrives within POLL_S: tick counts, outcomes, dead workers."""
        if not self.running:
            time.sleep(POLL_S)
            return
        handles: list[Any] = []
        for run in self.running.values():
            handles += [run.conn, run.process.sentinel]
        try:
            ready = set(wait(handles, timeout=POLL_S))
        except InterruptedError:
            return
        for slot, run in list(self.running.items()):
            if run.conn in ready:
                self._receive(run)
            if run.process.sentinel in ready or not run.process.is_alive():
                self._drain(run)
                self._finish(slot, run)

    def _receive(self, run: _Running) -> None:
        with contextlib.suppress(EOFError, OSError):
            while run.conn.poll():
                message = run.conn.recv()
                if message[0] == "ticks":
                    self.state.live_ticks[run.entry.name] = int(message[1])
                elif message[0] == "done":
                    run.reported = message[1]

    def _drain(self, run: _Running) -> None:
        run.process.join(timeout=5.0)
        self._receive(run)

    def _finish(self, slot: int, run: _Running) -> None:
        del self.running[slot]
        run.conn.close()
        outcome = run.reported
        if outcome is None:
            code = run.process.exitcode
            why = f"killed by {signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
            outcome = outcome_of(run.run_dir, f"worker process died ({why})")
            if outcome.status in ("ok", "running"):
                outcome.status = "failed"
            for note in release_leftovers(self.state.variant_dir(run.entry)):
                self.reporter.note(note)
        outcome.wall_s = time.monotonic() - run.started
        self.state.mark_finished(run.entry, outcome)
        self.reporter.finished(run.entry)

    def _stop_all(self) -> None:
        """Forward the stop to every worker, wait for their teardown, kill stragglers."""
        for run in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(run.process.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.running and time.monotonic() < deadline:
            self._wait_once()
        for slot, run in list(self.running.items()):
            run.process.kill()
            self._drain(run)
            self._finish(slot, run)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        def handle(signum: int, frame: FrameType | None) -> None:
            if self.stop_signal is None:
                self.stop_signal = signum  # acted on by the loop, not here (no I/O in handlers)

        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
