"""Camera frames to PNG files, written by a worker pool fed through a bounded queue.

The tick loop only hands over the `carla.Image` (its buffer stays alive with it);
conversion and PNG encoding happen on worker threads (numpy and zlib release the
GIL). When the queue is full `submit` blocks, so memory stays bounded and a slow
disk slows the run instead of growing it.

Converters reproduce LibCarla's `image/ColorConverter.h` in float32 on the BGRA
buffer (carla-sensors.md section 4), reading it in place:
  raw         the BGRA pixels as RGB (alpha is not meaningful), one unpacking copy
  depth       n = R + 256 G + 65536 B; g = n / (2^24 - 1); u8 = int(g * 255 + 0.5)
  logdepth    g' = clamp(1 + ln(g) / 5.70378, 0.005, 1); u8 = int(g' * 255 + 0.5)
  cityscapes  CityScapes palette[R % 29] as RGB
Gray results are written as single-channel PNGs (CARLA writes B = G = R).
Files appear under their final name only when complete (temp file + rename).
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from PIL import Image

from runner.errors import ExportError

CONVERTERS = ("raw", "cityscapes", "depth", "logdepth")
PNG_COMPRESS_LEVEL = 1
"""zlib level 1: several times faster than the default 6, files ~10-20% larger."""

CITYSCAPES_PALETTE = np.array(
    [
        (0, 0, 0), (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156),
        (190, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35),
        (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142),
        (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
        (110, 190, 160), (170, 120, 50), (55, 90, 80), (45, 60, 150), (157, 234, 50),
        (81, 0, 81), (150, 100, 100), (230, 150, 140), (180, 165, 180),
    ],
    dtype=np.uint8,
)  # fmt: skip
"""CARLA 0.9.16 CityScapes palette (RGB) indexed by semantic tag; 29 entries."""

_LOG_DEPTH_DIVISOR = np.float32(5.70378)


def _pixels(buffer: Any, width: int, height: int) -> np.ndarray:
    """A read-only (H, W, 4) BGRA view of the buffer; no copy."""
    return np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 4)


def normalized_depth(bgra: np.ndarray) -> np.ndarray:
    """(R + 256 G + 65536 B) / (2^24 - 1) as float32, like LibCarla's Depth converter."""
    n = bgra[..., 2].astype(np.int32)
    n += bgra[..., 1].astype(np.int32) << 8
    n += bgra[..., 0].astype(np.int32) << 16
    depth = n.astype(np.float32)
    depth /= np.float32(256 * 256 * 256 - 1)
    return depth


def _to_u8(gray: np.ndarray) -> np.ndarray:
    """Boost.GIL's float -> uint8 channel conversion: int(v * 255 + 0.5), in place."""
    gray *= np.float32(255.0)
    gray += np.float32(0.5)
    return gray.astype(np.uint8)


def depth_gray(bgra: np.ndarray) -> np.ndarray:
    """The `Depth` converter's gray level (H, W) uint8."""
    return _to_u8(normalized_depth(bgra))


def logdepth_gray(bgra: np.ndarray) -> np.ndarray:
    """The `LogarithmicDepth` converter's gray level (H, W) uint8."""
    g = normalized_depth(bgra)
    with np.errstate(divide="ignore"):
        np.log(g, out=g)
    g /= _LOG_DEPTH_DIVISOR
    g += np.float32(1.0)
    np.clip(g, np.float32(0.005), np.float32(1.0), out=g)
    return _to_u8(g)


def cityscapes_rgb(bgra: np.ndarray) -> np.ndarray:
    """The `CityScapesPalette` converter: palette[R % 29] as (H, W, 3) RGB."""
    return CITYSCAPES_PALETTE[bgra[..., 2] % len(CITYSCAPES_PALETTE)]


def to_pil(buffer: Any, width: int, height: int, converter: str) -> Image.Image:
    """One BGRA frame through a converter, as a Pillow image ready to save."""
    if converter == "raw":
        return Image.frombuffer("RGB", (width, height), buffer, "raw", "BGRX", 0, 1)
    bgra = _pixels(buffer, width, height)
    if converter == "depth":
        return Image.fromarray(depth_gray(bgra), "L")
    if converter == "logdepth":
        return Image.fromarray(logdepth_gray(bgra), "L")
    if converter == "cityscapes":
        return Image.fromarray(cityscapes_rgb(bgra), "RGB")
    raise ValueError(f"unknown converter {converter!r}; expected one of {CONVERTERS}")


def write_png(image: Image.Image, path: Path) -> None:
    """Save so the final name only ever holds a complete file."""
    tmp = path.with_name(f".{path.name}.part")
    image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    os.replace(tmp, path)


class ImageSink:
    """Writes `<run_dir>/<sensor>/<frame:08d>.png` for each submitted camera frame.

    Lifecycle: open (workers start) -> submit ... -> close (queue drained, workers
    joined). The first write error is raised as `ExportError` by the next `submit`
    or by `close`.
    """

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
        count = workers or max(1, min(4, (os.cpu_count() or 2) - 1))
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(queue_size or 4 * count)
        self._written = dict.fromkeys(converters, 0)
        self._lock = threading.Lock()
        self._error: ExportError | None = None
        self._threads = [
            threading.Thread(target=self._work, name=f"image-writer-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def wants(self, name: str) -> bool:
        """Whether frames of sensor `name` are exported."""
        return name in self.converters

    def submit(self, name: str, image: Any) -> None:
        """Queue one `carla.Image` of sensor `name`; blocks while the queue is full."""
        self._raise_pending()
        self._queue.put((name, image))

    def written(self) -> dict[str, int]:
        """Files written per sensor so far."""
        with self._lock:
            return dict(self._written)

    def close(self, *, raise_errors: bool = True) -> None:
        """Write everything queued, stop the workers, raise the first write error."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []
        if raise_errors:
            self._raise_pending()

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            name, image = item
            path = self._dirs[name] / f"{image.frame:08d}.png"
            self._write_one(name, image, path)

    def _write_one(self, name: str, image: Any, path: Path) -> None:
        try:
            pil = to_pil(image.raw_data, image.width, image.height, self.converters[name])
            write_png(pil, path)
        except Exception as exc:
            with self._lock:
                if self._error is None:
                    self._error = ExportError(f"sensor {name!r}: cannot write {path}: {exc}")
                    self._error.__cause__ = exc
            return
        with self._lock:
            self._written[name] += 1

    def __enter__(self) -> ImageSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(raise_errors=exc is None)
