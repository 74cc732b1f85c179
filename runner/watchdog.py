"""Ticks that can be waited on with a deadline, so a stalled client cannot hang a run.

The 0.9.16 client can block inside `world.tick()` forever: its in-process Traffic
Manager loses a notify (carla-simulator/carla#9172, fixed only after 0.9.16), and
while it waits no signal reaches Python. So the tick runs on a worker thread and the
main thread waits for it with a deadline (the client timeout plus a margin). Past the
deadline `TickStalled` is raised: the run then writes every thread's stack into its
folder, tears down through a fresh connection without touching the Traffic Manager,
and the CLI ends the process (the stuck thread cannot be joined).

The main thread's wait is interruptible, so Ctrl-C works even while a tick is stuck.
"""

from __future__ import annotations

import faulthandler
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from runner.errors import ServerTimeout

DEADLINE_MARGIN_S = 5.0
"""Beyond the client's own timeout: a tick that outlives both is stuck, not slow."""
STACKS_FILE = "stalled-stacks.txt"


class TickStalled(ServerTimeout):
    """A tick did not return within its deadline; the client is stuck, not the server."""


class TickWatchdog:
    """Runs each tick on one worker thread; `tick` returns its frame or raises TickStalled."""

    def __init__(self, deadline_s: float, run_dir: Path, *, block_at: int | None = None) -> None:
        self.deadline_s = deadline_s
        self.run_dir = run_dir
        self.stalled = False
        self._block_at = block_at
        self._count = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tick")
        self._in_flight: Future[int] | None = None

    def tick(self, call: Callable[[], int], why_stuck: str) -> int:
        """`call()` (e.g. `world.tick`) on the worker, waited for up to the deadline."""
        self._count += 1
        if self._block_at is not None and self._count == self._block_at:
            call = _block_forever  # fault injection: a tick that never returns
        self._in_flight = self._pool.submit(call)
        try:
            frame = self._in_flight.result(timeout=self.deadline_s)
        except FutureTimeout:
            raise self._stall(why_stuck) from None
        except KeyboardInterrupt:
            self.settle()
            raise
        self._in_flight = None
        return frame

    def settle(self) -> None:
        """Let an interrupted tick finish (so teardown does not race it), up to the deadline."""
        future, self._in_flight = self._in_flight, None
        if future is None:
            return
        try:
            future.result(timeout=self.deadline_s)
        except FutureTimeout:
            self.stalled = True
        except Exception:  # the tick's own error is not the one in flight
            pass

    def _stall(self, why_stuck: str) -> TickStalled:
        self.stalled = True
        path = self.run_dir / STACKS_FILE
        with path.open("w") as stream:
            faulthandler.dump_traceback(stream, all_threads=True)
        return TickStalled(
            f"a tick did not return within {self.deadline_s:g} s; {why_stuck}."
            f" Every thread's stack is in {path}"
        )

    def close(self) -> None:
        """Release the worker; a stuck one is left behind (it cannot be joined)."""
        self._pool.shutdown(wait=not self.stalled, cancel_futures=True)


def _block_forever() -> int:
    threading.Event().wait()
    raise AssertionError("unreachable")
