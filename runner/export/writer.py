"""A bounded pool of writer threads: back-pressure, atomic files, counts per target.

The tick loop hands over jobs (closures over plain numpy data, never a carla call);
worker threads run them. Encoders release the GIL, so workers run in parallel with
the loop. When the queue is full, `submit` blocks (on_full="block": nothing lost, a
slow disk slows the run) or counts the frame as dropped (on_full="drop").

Every file appears under its final name only when complete: it is written under a
hidden temporary name (`.NAME.part`) in the same folder and renamed, so a run
killed at any point leaves complete files and, at worst, a hidden `.part` file.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from runner.errors import ExportError

Job = Callable[[], None]


def default_workers() -> int:
    """Two at least (encoders overlap I/O), at most four, one per core beyond the first."""
    return max(2, min(4, (os.cpu_count() or 2) - 1))


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file so that its final name only ever holds complete contents."""
    tmp = path.with_name(f".{path.name}.part")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as handle:
        handle.write(data)
    os.replace(tmp, path)


@dataclass
class TargetCounts:
    """Frames per export target: written, dropped (queue full or data missing), failed."""

    written: int = 0
    dropped: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"written": self.written, "dropped": self.dropped, "failed": self.failed}


class WriterPool:
    """UNOPENED -> running (constructed) -> closed; `close` drains and joins."""

    def __init__(
        self, workers: int | None = None, queue_size: int = 16, on_full: str = "block"
    ) -> None:
        self.on_full = on_full
        count = workers or default_workers()
        self._queue: queue.Queue[tuple[tuple[str, ...], Job] | None] = queue.Queue(queue_size)
        self._counts: dict[str, TargetCounts] = {}
        self._lock = threading.Lock()
        self._error: ExportError | None = None
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"export-writer-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def register(self, targets: Iterable[str]) -> None:
        """Targets that appear in the counts even when nothing was written to them."""
        with self._lock:
            for target in targets:
                self._counts.setdefault(target, TargetCounts())

    def submit(self, targets: tuple[str, ...], job: Job) -> bool:
        """Queue a job that writes one frame of each target; False when it was dropped."""
        self.raise_pending()
        if self._closed:
            raise ExportError("the export writer is closed")
        try:
            self._queue.put((targets, job), block=self.on_full == "block")
        except queue.Full:
            self.dropped(targets)
            return False
        return True

    def dropped(self, targets: Iterable[str], frames: int = 1) -> None:
        """Count frames that could not be exported (queue full, sensor data missing)."""
        with self._lock:
            for target in targets:
                self._counts.setdefault(target, TargetCounts()).dropped += frames

    def wrote(self, targets: Iterable[str]) -> None:
        """Count a frame written outside a job (e.g. a line from the tick loop)."""
        with self._lock:
            for target in targets:
                self._counts.setdefault(target, TargetCounts()).written += 1

    def counts(self) -> dict[str, TargetCounts]:
        with self._lock:
            return {k: TargetCounts(**v.as_dict()) for k, v in self._counts.items()}

    def close(self, *, raise_errors: bool = True) -> dict[str, TargetCounts]:
        """Run everything queued, stop the workers; raise the first job error."""
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)
            for thread in self._threads:
                thread.join()
        if raise_errors:
            self.raise_pending()
        return self.counts()

    def raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            targets, job = item
            try:
                job()
            except Exception as exc:
                self._failed(targets, exc)
            else:
                self.wrote(targets)

    def _failed(self, targets: tuple[str, ...], exc: Exception) -> None:
        with self._lock:
            for target in targets:
                self._counts.setdefault(target, TargetCounts()).failed += 1
            if self._error is None:
                self._error = ExportError(f"export {', '.join(targets)}: {exc}")
                self._error.__cause__ = exc

    def __enter__(self) -> WriterPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(raise_errors=exc is None)
