"""A sweep's folder on disk: variant folders, run outcomes, resume decisions, sweep.json.

    <out>/<sweep>/sweep.json                 index: every variant, its status and numbers
    <out>/<sweep>/<variant>/scenario.yaml    the resolved scenario that ran (hashed)
    <out>/<sweep>/<variant>/<run-id>/        one folder per attempt (manifest.json, ...)
    <out>/<sweep>/<variant>/worker.log       the worker's own output, all attempts

Resume: a variant is complete when one of its runs has a manifest with status "ok"
whose `scenario.sha256` equals the hash of the resolved scenario it would run now.
An attempt whose lease was never released (its process was killed) is cleaned up
with `runner.cleanup.cleanup_run` before the variant runs again.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

INDEX_FILE = "sweep.json"
SCENARIO_FILE = "scenario.yaml"
MANIFEST_FILE = "manifest.json"
INDEX_VERSION = 1
DONE_STATUSES = ("ok", "cached")


@dataclass
class Outcome:
    """How one variant's attempt ended, from its manifest (or from what killed it)."""

    status: str
    run_dir: str | None = None
    ticks: int = 0
    frames: int = 0
    annotations: int | None = None
    wall_s: float | None = None
    error: str | None = None


@dataclass
class VariantEntry:
    """One row of sweep.json and of the summary table."""

    name: str
    folder: str
    params: dict[str, Any]
    seed: int
    scenario_sha256: str
    status: str = "pending"
    endpoint: str | None = None
    outcome: Outcome = field(default_factory=lambda: Outcome("pending"))

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES


def new_run_id() -> str:
    """UTC time and a random suffix, like `runner.execute` names its run folders."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def outcome_of(run_dir: Path, error: str | None = None) -> Outcome:
    """The outcome recorded in `run_dir`'s manifest; `error` when there is none."""
    data = read_manifest(run_dir)
    if data is None:
        return Outcome("failed", str(run_dir), error=error or "the run wrote no manifest")
    sensors = data.get("sensors") or {}
    frames = sum(int(s.get("written", 0)) for s in sensors.values() if isinstance(s, dict))
    wall = (data.get("timings_s") or {}).get("total")
    return Outcome(
        status=str(data.get("status", "failed")),
        run_dir=str(run_dir),
        ticks=int(data.get("ticks_done", 0)),
        frames=frames,
        annotations=annotation_count(run_dir, data),
        wall_s=float(wall) if isinstance(wall, int | float) else None,
        error=data.get("error") or error,
    )


def annotation_count(run_dir: Path, manifest: dict[str, Any]) -> int | None:
    """Annotations the run exported: from the manifest if it says, else its coco.json."""
    for key in ("annotations", "annotation_count"):
        value = manifest.get(key)
        if isinstance(value, int):
            return value
    coco = run_dir / "coco.json"
    if not coco.is_file():
        return None
    try:
        return len(json.loads(coco.read_text(encoding="utf-8")).get("annotations", []))
    except (OSError, ValueError, AttributeError):
        return None


def attempts(variant_dir: Path) -> list[Path]:
    """The variant's run folders, oldest first (run ids start with the UTC time)."""
    if not variant_dir.is_dir():
        return []
    return sorted(p for p in variant_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def completed_run(variant_dir: Path, scenario_sha256: str) -> Path | None:
    """The newest attempt that finished ok on exactly this resolved scenario."""
    for run_dir in reversed(attempts(variant_dir)):
        data = read_manifest(run_dir)
        if data is None or data.get("status") != "ok":
            continue
        if (data.get("scenario") or {}).get("sha256") == scenario_sha256:
            return run_dir
    return None


def release_leftovers(variant_dir: Path) -> list[str]:
    """Clean up every attempt whose lease was not released; returns what was done."""
    from runner.cleanup import cleanup_run
    from runner.errors import RunError
    from runner.lease import unreleased_runs

    notes = []
    for run_dir in unreleased_runs(variant_dir) if variant_dir.is_dir() else []:
        try:
            report = cleanup_run(run_dir)
        except RunError as exc:
            notes.append(f"cleanup of {run_dir} failed: {exc}")
            continue
        notes += report.summary_lines()
    return notes


def write_index(path: Path, header: dict[str, Any], entries: list[VariantEntry]) -> None:
    """sweep.json, atomically (readers never see a torn file)."""
    from runner.lease import write_atomically

    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    data = {
        "index_version": INDEX_VERSION,
        **header,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "counts": counts,
        "variants": [_entry_json(e) for e in entries],
    }
    write_atomically(path, json.dumps(data, indent=2) + "\n")


def _entry_json(entry: VariantEntry) -> dict[str, Any]:
    outcome = asdict(entry.outcome)
    outcome.pop("status")
    return {
        "name": entry.name,
        "folder": entry.folder,
        "params": entry.params,
        "seed": entry.seed,
        "scenario_sha256": entry.scenario_sha256,
        "status": entry.status,
        "endpoint": entry.endpoint,
        **outcome,
    }
