"""The one place that reads the carla client's error texts.

The 0.9.16 client raises plain `RuntimeError`s and batch responses carry error
strings; what kind of failure each is can only be told from its text. `classify`
names the kind, `translate` turns an exception into the runner's own error (raise
it `from` the original). Nothing else in the runner looks inside these messages.
"""

from __future__ import annotations

import enum

from runner.errors import (
    ActorGone,
    MapMissing,
    RunError,
    ServerError,
    ServerTimeout,
    SpawnError,
    SpawnPointOccupied,
)


class Failure(enum.Enum):
    """What a carla client error text means."""

    TIMEOUT = "timeout"
    NOT_FOUND = "not found"
    OCCUPIED = "spawn point occupied"
    MAP_MISSING = "map missing"
    OTHER = "other"


def classify(text: str) -> Failure:
    """The kind of failure a client error message (or batch response error) reports."""
    lowered = text.lower()
    if "time-out of" in lowered or "timed out" in lowered:
        return Failure.TIMEOUT
    if lowered.startswith("map '") and "not found" in lowered:
        return Failure.MAP_MISSING
    if "collision at spawn" in lowered:
        return Failure.OCCUPIED
    if "not found" in lowered:
        return Failure.NOT_FOUND
    return Failure.OTHER


def translate(exc: BaseException, what: str, *, line: int | None = None) -> RunError:
    """The runner's error for a client `RuntimeError` raised while doing `what`."""
    text = str(exc)
    message = f"{what}: {text}"
    match classify(text):
        case Failure.TIMEOUT:
            return ServerTimeout(message)
        case Failure.MAP_MISSING:
            return MapMissing(message)
        case Failure.OCCUPIED:
            return SpawnPointOccupied(message, line=line)
        case Failure.NOT_FOUND:
            return ActorGone(message)
        case Failure.OTHER:
            return SpawnError(message, line=line) if line is not None else ServerError(message)


def is_occupied(error: str) -> bool:
    """A batch spawn answered "spawn point taken" (expected with dense traffic)."""
    return classify(error) is Failure.OCCUPIED


def is_gone(error: str) -> bool:
    """A batch destroy answered "no such actor" (it is already gone: that is fine)."""
    return classify(error) is Failure.NOT_FOUND
