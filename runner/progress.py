"""A one-line progress bar with ticks/s on stderr; silent when stderr is not a terminal.

It is the only output the runner writes outside `runner.cli`: it is transient (the
line is erased when the bar closes) and goes to stderr so stdout stays clean.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

REDRAW_INTERVAL_S = 0.1
BAR_WIDTH = 30


def format_bar(label: str, done: int, total: int, rate_per_s: float) -> str:
    """`label [#####.....] done/total  12.3 ticks/s` (pure, for tests)."""
    fraction = 0.0 if total <= 0 else min(1.0, done / total)
    filled = int(fraction * BAR_WIDTH)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"{label} [{bar}] {done}/{total} {rate_per_s:6.1f} ticks/s"


class Progress:
    """Counts ticks; redraws at most every REDRAW_INTERVAL_S when `stream` is a TTY."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = sys.stderr if stream is None else stream
        self._enabled = self._stream.isatty()
        self._start = time.monotonic()
        self._last_draw = 0.0

    def rate(self) -> float:
        """Ticks per second since the bar started."""
        elapsed = time.monotonic() - self._start
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, ticks: int = 1) -> None:
        """Count `ticks` more; redraw if it is time to."""
        self.done += ticks
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= REDRAW_INTERVAL_S or self.done >= self.total:
            self._last_draw = now
            line = format_bar(self.label, self.done, self.total, self.rate())
            self._stream.write("\r" + line)
            self._stream.flush()

    def close(self) -> None:
        """Erase the bar so the summary that follows starts on a clean line."""
        if self._enabled:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
