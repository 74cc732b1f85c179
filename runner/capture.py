"""Each tick's sensor data, matched by frame number (never a mix of frames).

In synchronous mode `world.tick()` returns frame N; every sensor's data for that
step arrives on a client thread tagged `frame == N`, before or after `tick()`
returns. Each sensor's callback only puts into its own queue; `collect(N)` then
takes exactly frame N per sensor: older items are discarded, a newer one is kept
for later (frame N is missing), and a missing frame is waited for until one
shared deadline, then counted as dropped.

Which sensors are awaited on a tick:
  * a sensor with `capture_every = k` only on every k-th captured tick (its other
    frames are discarded without waiting);
  * a sensor with its own `sensor_tick > 0` measures on a server-side clock, so it
    is never awaited: frame N is taken when it is already there;
  * event sensors (collision) are never awaited: their events are recorded as
    they come, with the frame that produced them.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_FRAME_TIMEOUT_S = 2.0


@dataclass
class SensorCounts:
    """Per-sensor accounting for the run summary and the manifest."""

    captured: int = 0
    dropped: int = 0
    events: int = 0


@dataclass(frozen=True)
class Bundle:
    """One tick's data: `data[name].frame == frame` for every sensor present."""

    frame: int
    index: int
    data: dict[str, Any]
    events: dict[str, list[Any]] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()


class _Stream:
    """One sensor's queue, plus a datum newer than the frame asked for last."""

    def __init__(self, every: int, awaited: bool, event: bool) -> None:
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.every = every
        self.awaited = awaited
        self.event = event
        self.ahead: Any = None
        self.counts = SensorCounts()

    def take(self, frame: int, deadline: float | None) -> Any:
        """Frame `frame`'s datum, or None; waits until `deadline` (None: no waiting)."""
        if self.ahead is not None:
            if self.ahead.frame > frame:
                return None
            item, self.ahead = self.ahead, None
            if item.frame == frame:
                return item
        while True:
            item = self._next(deadline)
            if item is None or item.frame == frame:
                return item
            if item.frame > frame:
                self.ahead = item
                return None

    def _next(self, deadline: float | None) -> Any:
        try:
            if deadline is None:
                return self.queue.get_nowait()
            return self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None

    def discard_through(self, frame: int) -> None:
        """Drop everything up to `frame` without waiting (frames nobody wants)."""
        if self.ahead is not None:
            if self.ahead.frame > frame:
                return
            self.ahead = None
        while (item := self._next(None)) is not None:
            if item.frame > frame:
                self.ahead = item
                return

    def drain_events(self) -> list[Any]:
        events = []
        while (item := self._next(None)) is not None:
            events.append(item)
        self.counts.events += len(events)
        return events


class FrameCollector:
    """Per-sensor queues and the frame-matching rule; one per run, used by the tick loop."""

    def __init__(self, timeout_s: float = DEFAULT_FRAME_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._streams: dict[str, _Stream] = {}

    def add_sensor(
        self, name: str, *, capture_every: int = 1, sensor_tick_s: float = 0.0, event: bool = False
    ) -> Callable[[Any], None]:
        """Register a sensor; returns the callback to pass to `sensor.listen`."""
        awaited = not event and sensor_tick_s <= 0.0
        stream = _Stream(max(1, capture_every), awaited, event)
        self._streams[name] = stream
        return stream.queue.put

    def counts(self) -> dict[str, SensorCounts]:
        """Captured / dropped / event counts per sensor so far."""
        return {name: stream.counts for name, stream in self._streams.items()}

    def skip(self, frame: int) -> None:
        """Discard everything up to `frame` (warm-up ticks); events are kept counting."""
        for stream in self._streams.values():
            if stream.event:
                stream.drain_events()
            else:
                stream.discard_through(frame)

    def collect(self, frame: int, index: int) -> Bundle:
        """Exactly frame `frame` from each sensor due on captured tick `index`."""
        deadline = time.monotonic() + self.timeout_s
        data: dict[str, Any] = {}
        events: dict[str, list[Any]] = {}
        dropped: list[str] = []
        for name, stream in self._streams.items():
            if stream.event:
                events[name] = stream.drain_events()
            elif index % stream.every != 0:
                stream.discard_through(frame)
            elif (item := stream.take(frame, deadline if stream.awaited else None)) is not None:
                data[name] = item
                stream.counts.captured += 1
            elif stream.awaited:
                dropped.append(name)
                stream.counts.dropped += 1
        return Bundle(frame, index, data, events, tuple(dropped))
