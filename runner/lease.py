"""The lease file: what a run holds on which server, so a killed run can be cleaned up.

A run writes `lease.json` into its run folder as soon as it is connected and
rewrites it (atomically: temp file + rename) after every acquisition, so the file
on disk never lists less than the server holds for longer than one spawn call.
`scenario cleanup RUN_DIR` reads it after a `kill -9` and removes the leftovers.

    {"server": {"host": ..., "port": ..., "embedded_pid": 1234 | null},
     "actors": [{"id": 17, "type_id": "vehicle.tesla.model3", "role": "ego"}, ...],
     "settings_to_restore": {...WorldSettings fields...} | null,
     "traffic_manager_port": 8000 | null, "released": false}
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

LEASE_FILE = "lease.json"


@dataclass(frozen=True)
class LeasedActor:
    """One spawned actor; `role` says what the scenario called it (ego, vehicle, prop, sensor)."""

    id: int
    type_id: str
    role: str


@dataclass(frozen=True)
class Lease:
    """Everything a run holds on a server; `released` once teardown finished."""

    host: str
    port: int
    embedded_pid: int | None = None
    actors: tuple[LeasedActor, ...] = ()
    settings_to_restore: dict[str, Any] | None = None
    traffic_manager_port: int | None = None
    released: bool = False
    run_id: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready form written to disk."""
        data = asdict(self)
        data["server"] = {
            "host": data.pop("host"),
            "port": data.pop("port"),
            "embedded_pid": data.pop("embedded_pid"),
        }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lease:
        """Inverse of `to_json`; raises KeyError/TypeError on a malformed file."""
        server = data["server"]
        return cls(
            host=str(server["host"]),
            port=int(server["port"]),
            embedded_pid=server.get("embedded_pid"),
            actors=tuple(LeasedActor(**a) for a in data.get("actors", ())),
            settings_to_restore=data.get("settings_to_restore"),
            traffic_manager_port=data.get("traffic_manager_port"),
            released=bool(data.get("released", False)),
            run_id=str(data.get("run_id", "")),
        )


def sensors_first(actors: Iterable[LeasedActor]) -> list[LeasedActor]:
    """Destruction order: sensors (children) before the actors they ride on, else as given."""
    return sorted(actors, key=lambda actor: 0 if actor.role.startswith("sensor") else 1)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` so that readers see the old file or the new one, never a torn one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_lease(run_dir: Path) -> Lease | None:
    """The lease of `run_dir`, or None when the folder has none."""
    path = run_dir / LEASE_FILE
    if not path.is_file():
        return None
    return Lease.from_json(json.loads(path.read_text()))


class LeaseFile:
    """The live lease of a running run; every change is on disk when the call returns."""

    def __init__(self, run_dir: Path, lease: Lease) -> None:
        self.path = run_dir / LEASE_FILE
        self._lease = lease
        self._lock = threading.Lock()
        self._write()

    @property
    def lease(self) -> Lease:
        return self._lease

    def update(self, **changes: Any) -> None:
        """Replace fields of the lease (e.g. settings_to_restore) and rewrite the file."""
        with self._lock:
            self._lease = replace(self._lease, **changes)
            self._write()

    def add_actors(self, actors: list[LeasedActor]) -> None:
        """Record freshly spawned actors (call right after the spawn returns)."""
        if actors:
            self.update(actors=self._lease.actors + tuple(actors))

    def remove_actors(self, ids: set[int]) -> None:
        """Forget actors that are gone from the server."""
        self.update(actors=tuple(a for a in self._lease.actors if a.id not in ids))

    def _write(self) -> None:
        write_atomically(self.path, json.dumps(self._lease.to_json(), indent=2) + "\n")


def unreleased_runs(out_dir: Path) -> list[Path]:
    """Run folders under `out_dir` whose lease still holds something, oldest first."""
    found: list[Path] = []
    for path in sorted(out_dir.rglob(LEASE_FILE)):
        try:
            lease = read_lease(path.parent)
        except (ValueError, KeyError, TypeError):
            continue
        if lease is not None and not lease.released:
            found.append(path.parent)
    return found
