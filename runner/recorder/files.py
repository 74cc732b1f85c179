"""Recorder files without a server: the same three queries, and a structured read.

Files from either world can be read by either: a file a real CARLA server wrote can
be queried here, and the text matches what the embedded server answers for it, byte
for byte (both call `runner.recorder.queries`). Bare names follow the server's
rule and mean the local recordings folder (`runner.recorder.paths`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.errors import RecorderError
from runner.recorder import format as fmt
from runner.recorder import paths, queries, reader

DEFAULT_MIN_TIME_S = 30.0  # the values CARLA's example script uses
DEFAULT_MIN_DISTANCE_CM = 100.0


def file_info(name: str | Path, show_all: bool = False) -> str:
    """`client.show_recorder_file_info`, answered locally."""
    return queries.file_info(paths.resolve(str(name)), show_all)


def collisions(name: str | Path, type1: str = "a", type2: str = "a") -> str:
    """`client.show_recorder_collisions`; types are h, v, w, t, o or a."""
    return queries.collisions(paths.resolve(str(name)), _category(type1), _category(type2))


def actors_blocked(
    name: str | Path,
    min_time_s: float = DEFAULT_MIN_TIME_S,
    min_distance_cm: float = DEFAULT_MIN_DISTANCE_CM,
) -> str:
    """`client.show_recorder_actors_blocked` (distance in centimetres, as CARLA's)."""
    return queries.actors_blocked(paths.resolve(str(name)), min_time_s, min_distance_cm)


def _category(kind: str) -> str:
    if len(kind) != 1:
        raise RecorderError(f"collision actor type must be one character, got {kind!r}")
    return kind


@dataclass(frozen=True)
class Recording:
    """A whole file, parsed: its header and frames (packets left undecoded)."""

    path: Path
    info: reader.Info
    frames: tuple[reader.FrameRecord, ...]

    @property
    def duration_s(self) -> float:
        return self.frames[-1].frame.elapsed if self.frames else 0.0


def read_recording(name: str | Path) -> Recording:
    """Parse a recorder file of version 1 or 2; RecorderError names the file."""
    path = Path(paths.resolve(str(name)))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecorderError(f"cannot read recorder file {path}: {exc.strerror}") from exc
    try:
        info, offset = reader.read_info(data)
    except reader.NotARecorderFile as exc:
        raise RecorderError(f"{path} is not a CARLA recorder file") from exc
    if info.version not in fmt.READABLE_VERSIONS:
        raise RecorderError(f"{path}: recorder file version {info.version} is not supported")
    return Recording(path, info, tuple(reader.iter_frames(data, offset)))
