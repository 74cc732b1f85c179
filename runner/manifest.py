"""The run manifest: what ran, where, with which seed, what came out, and how to redo it.

Written as `manifest.json` in the run folder when the run ends, however it ends
(`status` is "ok", "failed" or "interrupted"), so a partial dataset still says
what it is.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.capture import SensorCounts
from runner.lease import write_atomically
from runner.plan import Plan
from runner.plan_format import plan_to_dict

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1


TM_WORDS = {
    "simulator": "served by the embedded simulator",
    "client": "CARLA's in-client Traffic Manager",
    "remote": "remote of the Traffic Manager serving the port (the simulator's or a client's)",
}


@dataclass
class RunRecord:
    """Facts gathered while a run goes; turned into the manifest at the end."""

    run_id: str
    run_dir: Path
    status: str = "running"
    error: str | None = None
    server: dict[str, Any] = field(default_factory=dict)
    map_name: str | None = None
    traffic_manager_port: int | None = None
    traffic_manager: str | None = None
    """Which TM drove the traffic: simulator (embedded, served), client or remote."""
    spawned: dict[str, int] = field(default_factory=dict)
    sensors: dict[str, SensorCounts] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    exports: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per export target (images:<camera>, coco, yolo, frames, ...): written, dropped, failed."""
    classes: dict[str, int] = field(default_factory=dict)
    """COCO annotations per class."""
    preview: str | None = None
    ticks_done: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)
    teardown_problems: list[str] = field(default_factory=list)
    steps_executed: list[str] = field(default_factory=list)
    client_stuck: bool = False
    """A tick never returned: the process must end without joining the stuck thread."""
    versions: dict[str, str] = field(default_factory=dict)


def client_versions(client: Any, server_version: str) -> dict[str, str]:
    """Runner, carla client and server versions, for reproducing a dataset."""
    return {
        "runner": _package_version("carla-scenario-runner"),
        "carla_client": str(client.get_client_version()),
        "carla_package": _package_version("carla"),
        "server": server_version,
    }


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def file_sha256(path: Path) -> str | None:
    """Hex digest of a file, or None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def reproduce_command(plan: Plan, record: RunRecord) -> str:
    """The command line that runs the same scenario against the same kind of server."""
    args = ["scenario", "run", plan.source or f"<{plan.name}>"]
    for override in plan.overrides:
        args += ["--set", override]
    if not record.server.get("embedded", True):
        args += ["--host", str(record.server["host"]), "--port", str(record.server["port"])]
    return shlex.join(args)


def build_manifest(plan: Plan, record: RunRecord) -> dict[str, Any]:
    """The manifest as JSON-ready data."""
    source = Path(plan.source) if plan.source else None
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": record.run_id,
        "status": record.status,
        "error": record.error,
        "scenario": {
            "name": plan.name,
            "file": plan.source,
            "sha256": None if source is None else file_sha256(source),
            "overrides": list(plan.overrides),
            "resolved": json.loads(plan.resolved_scenario),
            "resolved_sha256": hashlib.sha256(plan.resolved_scenario.encode()).hexdigest(),
        },
        "seed": plan.seeds.master,
        "server": record.server,
        "versions": record.versions,
        "map": record.map_name,
        "traffic_manager_port": record.traffic_manager_port,
        "traffic_manager": record.traffic_manager,
        "spawned": record.spawned,
        "ticks_done": record.ticks_done,
        "sensors": {
            name: {
                "captured": counts.captured,
                "dropped": counts.dropped,
                "events": counts.events,
                "written": record.written.get(name, 0),
            }
            for name, counts in record.sensors.items()
        },
        "exports": record.exports,
        "annotations_per_class": record.classes,
        "preview": record.preview,
        "timings_s": {k: round(v, 4) for k, v in record.timings_s.items()},
        "teardown_problems": record.teardown_problems,
        "steps_executed": record.steps_executed,
        "client_stuck": record.client_stuck,
        "reproduce": {
            "command": reproduce_command(plan, record),
            "note": "same scenario file (check sha256), same seed, same server version",
        },
        "plan": plan_to_dict(plan),
    }


def write_manifest(plan: Plan, record: RunRecord) -> Path:
    """Write `manifest.json` atomically into the run folder; returns its path."""
    path = record.run_dir / MANIFEST_FILE
    write_atomically(path, json.dumps(build_manifest(plan, record), indent=2) + "\n")
    return path


@dataclass(frozen=True)
class RunResult:
    """What `run_plan` returns: the run folder, its manifest and the facts behind it."""

    plan_name: str
    record: RunRecord
    manifest_path: Path

    @property
    def run_dir(self) -> Path:
        return self.record.run_dir

    def summary_lines(self) -> list[str]:
        """The run summary the CLI prints."""
        r = self.record
        loop_s = r.timings_s.get("loop", 0.0)
        rate = r.ticks_done / loop_s if loop_s > 0 else 0.0
        kind = "embedded server" if r.server.get("embedded") else "server"
        lines = [
            f"run {self.plan_name} {r.run_id}: {r.status}, {r.ticks_done} ticks"
            f" in {loop_s:.2f} s ({rate:.1f} ticks/s)",
            f"  outputs: {r.run_dir}",
            f"  {kind}: {r.server.get('host')}:{r.server.get('port')}, map {r.map_name}",
            "  spawned: " + (", ".join(f"{k} {v}" for k, v in r.spawned.items()) or "nothing"),
        ]
        if r.traffic_manager:
            lines.append(
                f"  traffic manager: {TM_WORDS.get(r.traffic_manager, r.traffic_manager)}"
                f" on port {r.traffic_manager_port}"
            )
        for name, c in r.sensors.items():
            detail = f"{c.captured} captured, {r.written.get(name, 0)} written, {c.dropped} dropped"
            events = f", {c.events} events" if c.events else ""
            lines.append(f"  sensor {name}: {detail}{events}")
        if r.classes:
            counts = ", ".join(f"{name} {n}" for name, n in sorted(r.classes.items()) if n)
            lines.append(f"  annotations: {counts or 'none'}")
        for key, target in sorted(r.exports.items()):
            if not key.startswith("images:") and any(target.values()):
                detail = ", ".join(f"{k} {v}" for k, v in target.items())
                lines.append(f"  export {key}: {detail}")
        if r.preview:
            lines.append(f"  preview: {r.run_dir / r.preview}")
        lines += [f"  {problem}" for problem in r.teardown_problems]
        return lines
