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

    def enable(self) -> None:
        """Start timing stages (off by default: the timer costs a little per stage)."""
        self.enabled = True

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            self._totals[name] += time.perf_counter() - start

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
