"""`ImageSink`: the first export API (one converter per camera, PNG), kept for the runner.

`runner.export.sinks.ExportSinks` supersedes it; this stays until the tick loop feeds
`ExportSinks`. Files: `<run_dir>/<sensor>/<frame:08d>.png`, written atomically.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from runner.export.images import encode_frame, pixels
from runner.export.writer import WriterPool, write_atomic


class ImageSink:
    """open (workers start) -> submit ... -> close (queue drained, workers joined)."""

    def __init__(
        self,
        run_dir: Path,
        converters: dict[str, str],
        *,
        workers: int | None = None,
        queue_size: int | None = None,
    ) -> None:
        self.converters = dict(converters)
        self._dirs = {name: run_dir / name for name in converters}
        for folder in self._dirs.values():
            folder.mkdir(parents=True, exist_ok=True)
        self._pool = WriterPool(workers, queue_size or 16)
        self._pool.register(converters)

    def wants(self, name: str) -> bool:
        """Whether frames of sensor `name` are exported."""
        return name in self.converters

    def submit(self, name: str, image: Any) -> None:
        """Queue one `carla.Image` of sensor `name`; blocks while the queue is full."""
        bgra = pixels(image.raw_data, image.width, image.height)
        path = self._dirs[name] / f"{image.frame:08d}.png"
        converter = self.converters[name]

        def job(owner: Any = image) -> None:  # `owner` keeps the buffer alive
            write_atomic(path, encode_frame(bgra, converter))

        self._pool.submit((name,), job)

    def written(self) -> dict[str, int]:
        """Files written per sensor so far."""
        return {name: c.written for name, c in self._pool.counts().items()}

    def close(self, *, raise_errors: bool = True) -> None:
        self._pool.close(raise_errors=raise_errors)

    def __enter__(self) -> ImageSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(raise_errors=exc is None)
