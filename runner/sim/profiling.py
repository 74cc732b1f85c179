"""Opt-in per-stage timing of simulation steps (`RUNNER_SIM_PROFILE=1`), logged every N steps.

Benchmarks print ratios; this says where a step's time goes when a ratio disappoints.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("runner.sim.profile")
ENABLED = os.environ.get("RUNNER_SIM_PROFILE", "") not in ("", "0")
REPORT_EVERY = 100


class StageTimer:
    """Accumulates wall time per named stage; reports means and resets."""

    def __init__(self) -> None:
        self._totals: dict[str, float] = defaultdict(float)
        self._steps = 0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not ENABLED:
            yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            self._totals[name] += time.perf_counter() - start

    def step_done(self) -> None:
        if not ENABLED:
            return
        self._steps += 1
        if self._steps >= REPORT_EVERY:
            parts = ", ".join(f"{k} {1000 * v / self._steps:.2f}" for k, v in self._totals.items())
            log.info("ms per step over %d steps: %s", self._steps, parts)
            self._totals.clear()
            self._steps = 0


TIMER = StageTimer()
