"""Opt-in per-stage timing of simulation steps (`RUNNER_SIM_PROFILE=1`), logged every N steps.

Benchmarks print ratios; this says where a step's time goes when a ratio disappoints.
The server's entry point switches it on (`TIMER.enable()`) from its settings.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("runner.sim.profile")
REPORT_EVERY = 100


class StageTimer:
    """Accumulates wall time per named stage; reports means and resets."""

    def __init__(self) -> None:
        self._totals: dict[str, float] = defaultdict(float)
        self._steps = 0
        self.enabled = False
        self._clock = time.perf_counter

    def enable(self, cpu: bool = False) -> None:
        """Start timing stages (off by default: the timer costs a little per stage).

        `cpu`: count the stepping thread's CPU time, not wall time, so that two trees
        compared on a busy machine differ by their work, not by who else ran meanwhile.
        """
        self.enabled = True
        self._clock = time.thread_time if cpu else time.perf_counter

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        start = self._clock()
        try:
            yield
        finally:
            self._totals[name] += self._clock() - start

    def step_done(self) -> None:
        if not self.enabled:
            return
        self._steps += 1
        if self._steps >= REPORT_EVERY:
            parts = ", ".join(f"{k} {1000 * v / self._steps:.2f}" for k, v in self._totals.items())
            log.info("ms per step over %d steps: %s", self._steps, parts)
            self._totals.clear()
            self._steps = 0


TIMER = StageTimer()
