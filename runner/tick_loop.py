"""The tick loop: advance the world, collect each tick's frames, hand them to the exports.

In synchronous mode the runner ticks (`world.tick()` returns the frame number); in
asynchronous mode it waits for the server's next tick. Warm-up ticks are ticked and
their frames discarded. Captured frames go to every export callback in order, in the
main thread (exports queue them to their own workers and never call the client).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from runner.capture import Bundle, FrameCollector
from runner.errors import RunError
from runner.manifest import RunRecord
from runner.plan import TickLoop
from runner.progress import Progress
from runner.watchdog import TickWatchdog

FrameSink = Callable[[Bundle], None]


@dataclass(frozen=True, kw_only=True)
class RunHooks:
    """Seams for tests (fault injection); production runs pass none."""

    after_tick: Callable[[int], None] | None = None
    """Called with the captured tick's index after its frames were handed over."""
    block_tick_at: int | None = None
    """The n-th tick (counting warm-up, from 1) never returns: exercises the watchdog."""
    tick_deadline_s: float | None = None
    """Overrides the watchdog's deadline (client timeout + margin)."""


def fault_hooks(*, fail_at: int | None, block_at: int | None, deadline_s: float | None) -> RunHooks:
    """Hooks from the RUNNER_FAULT_* settings: fail after tick `fail_at`, block tick `block_at`."""

    def after_tick(index: int) -> None:
        if index == fail_at:
            raise RunError(f"injected fault at tick {index} (RUNNER_FAULT_AT_TICK)")

    return RunHooks(
        after_tick=None if fail_at is None else after_tick,
        block_tick_at=block_at,
        tick_deadline_s=deadline_s,
    )


def advance(world: Any, synchronous: bool, watchdog: TickWatchdog, why_stuck: str) -> int:
    """One step of the world: our tick in synchronous mode, the server's otherwise."""
    if synchronous:
        return watchdog.tick(lambda: int(world.tick()), why_stuck)
    return watchdog.tick(lambda: int(world.wait_for_tick().frame), why_stuck)


def run_ticks(
    step: TickLoop,
    *,
    world: Any,
    collector: FrameCollector,
    sinks: Sequence[FrameSink],
    progress: Progress,
    record: RunRecord,
    hooks: RunHooks,
    watchdog: TickWatchdog,
) -> None:
    """Warm up, then tick and capture `step.ticks` times; counts go into `record`."""
    why = _why_stuck(record)
    sync = step.synchronous_mode
    for _ in range(step.warmup_ticks):
        collector.skip(advance(world, sync, watchdog, why))
    t0 = time.monotonic()
    try:
        for index in range(step.ticks):
            bundle = collector.collect(advance(world, sync, watchdog, why), index)
            for sink in sinks:
                sink(bundle)
            record.ticks_done += 1
            progress.advance()
            if hooks.after_tick is not None:
                hooks.after_tick(index)
    finally:
        record.timings_s["loop"] = time.monotonic() - t0
        progress.close()


def _why_stuck(record: RunRecord) -> str:
    """The likely reason a tick never returns, for the error message."""
    if record.traffic_manager_port is None:
        return "the client is stuck (no Traffic Manager is registered)"
    return (
        f"a Traffic Manager is registered (port {record.traffic_manager_port}): this is"
        " carla-simulator/carla#9172, a lost notify between TrafficManagerLocal's"
        " SynchronousTick and its worker, fixed only after 0.9.16; the embedded"
        " simulator's own Traffic Manager avoids it"
    )
