"""The runner's one error tree; only `runner.cli` turns these into messages and exit codes.

    RunnerError                    anything the runner reports on purpose
     ├── ScenarioError             bad input: a scenario file or its values (exit 2)
     └── RunError                  the input was fine, the run was not (exit 1)
          ├── ServerError          no server, lost connection, server-side failure
          │    ├── ServerTimeout   the server did not answer in time (or a tick stalled)
          │    ├── ServerLost      the server stopped answering altogether (killed?)
          │    └── ActorGone       the server no longer knows an actor the run holds
          ├── MapMissing           the server has no such map (embedded: no .xodr file)
          ├── SpawnError           an actor or sensor could not be placed; names its line
          │    └── SpawnPointOccupied   another actor already covers the spawn point
          ├── ExportError          writing images, annotations or manifests failed
          └── RecorderError        the recorder could not start, stop or answer a query

Anything else that escapes is a bug: the CLI logs its traceback to a file and exits 3.
The carla client's own `RuntimeError`s become these in `runner.client_errors` only.

A `ScenarioError` carries every `Problem` found, so one `scenario validate` lists
them all; each problem names file:line:column, the field and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located so an editor can jump to it."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        head = f"{where}: {self.field}: " if self.field else f"{where}: "
        tail = f"; {self.hint}" if self.hint else ""
        return f"{head}{self.message}{tail}"


class RunnerError(Exception):
    """Base of every error the runner raises deliberately."""


class ScenarioError(RunnerError):
    """A scenario could not be read or is invalid; holds every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(
        cls, file: str, message: str, *, line: int | None = None, column: int | None = None
    ) -> ScenarioError:
        """A whole-file problem (unreadable, binary, too large) with no field."""
        return cls([Problem(file, line, column, "", message)])


class RunError(RunnerError):
    """The scenario was valid but running it failed."""


class ServerError(RunError):
    """The simulator could not be reached, timed out, or failed a call."""


class ServerTimeout(ServerError):
    """A call (or a tick) got no answer within its deadline."""


class ServerLost(ServerError):
    """The server stopped answering during the run (it died or the network went)."""


class ActorGone(ServerError):
    """An actor the run holds no longer exists on the server."""


class MapMissing(RunError):
    """The server cannot load the map the scenario names."""


class SpawnError(RunError):
    """An actor or sensor could not be spawned; `line` is its line in the scenario file."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(message if line is None else f"{message} (scenario line {line})")


class SpawnPointOccupied(SpawnError):
    """CARLA refused a spawn because another actor covers that spot."""


class ExportError(RunError):
    """Writing run outputs (images, annotations, manifest) failed."""


class RecorderError(RunError):
    """The CARLA recorder could not start, stop or answer a query."""
