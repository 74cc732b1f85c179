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

FrameSink = Callable[[Bundle], None]


@dataclass(frozen=True, kw_only=True)
class RunHooks:
    """Seams for tests, called in the main thread; production runs pass none."""

    after_tick: Callable[[int], None] | None = None
    """Called with the captured tick's index after its frames were handed over."""


def fail_at_tick(tick: int) -> RunHooks:
    """Hooks that make the run fail right after captured tick `tick` (fault injection)."""

    def after_tick(index: int) -> None:
        if index == tick:
            raise RunError(f"injected fault at tick {index} (RUNNER_FAULT_AT_TICK)")

    return RunHooks(after_tick=after_tick)


def advance(world: Any, synchronous: bool) -> int:
    """One step of the world: our tick in synchronous mode, the server's otherwise."""
    if synchronous:
        return int(world.tick())
    return int(world.wait_for_tick().frame)


def run_ticks(
    step: TickLoop,
    *,
    world: Any,
    collector: FrameCollector,
    sinks: Sequence[FrameSink],
    progress: Progress,
    record: RunRecord,
    hooks: RunHooks,
) -> None:
    """Warm up, then tick and capture `step.ticks` times; counts go into `record`."""
    for _ in range(step.warmup_ticks):
        collector.skip(advance(world, step.synchronous_mode))
    t0 = time.monotonic()
    try:
        for index in range(step.ticks):
            bundle = collector.collect(advance(world, step.synchronous_mode), index)
            for sink in sinks:
                sink(bundle)
            record.ticks_done += 1
            progress.advance()
            if hooks.after_tick is not None:
                hooks.after_tick(index)
    finally:
        record.timings_s["loop"] = time.monotonic() - t0
        progress.close()
