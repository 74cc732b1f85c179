"""SIGINT and SIGTERM as `KeyboardInterrupt`, raised only where a run can unwind safely."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any


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
