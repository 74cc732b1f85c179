"""The bookkeeping every sweep executor shares: preparing the folder, progress, the end.

`prepare` writes each variant's resolved scenario, decides what resume skips and
cleans up what killed attempts left; `SweepState` holds the rows while variants run
and writes `sweep.json` after every change; `Reporter` is how an executor tells the
outside (the console, a test) what happens, the moment it happens.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from runner.sweep.index import (
    INDEX_FILE,
    SCENARIO_FILE,
    Outcome,
    VariantEntry,
    completed_run,
    new_run_id,
    outcome_of,
    release_leftovers,
    write_index,
)
from runner.sweep.resolve import ResolvedVariant, Sweep

RATE_WINDOW_S = 5.0


@dataclass(frozen=True)
class Endpoint:
    """Where a variant runs: a CARLA server, or (host None) an embedded one per variant."""

    host: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """`HOST:PORT` (`:PORT` means 127.0.0.1); raises ValueError."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"--server {text}: expected HOST:PORT")
        return cls(host or "127.0.0.1", int(port))

    @property
    def embedded(self) -> bool:
        return self.host is None

    def __str__(self) -> str:
        return "embedded" if self.host is None else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Snapshot:
    """Counts for the live progress view."""

    total: int
    done: int
    cached: int
    failed: int
    running: int
    ticks_per_s: float
    elapsed_s: float


class Reporter(Protocol):
    """Receives what happens; every method is called in the sweep's main thread."""

    def prepared(self, state: SweepState, notes: Sequence[str]) -> None: ...
    def started(self, entry: VariantEntry) -> None: ...
    def finished(self, entry: VariantEntry) -> None: ...
    def progress(self, snapshot: Snapshot) -> None: ...
    def note(self, text: str) -> None: ...


@dataclass
class SweepState:
    """Rows of a sweep while it runs; `save` rewrites sweep.json."""

    sweep: Sweep
    folder: Path
    entries: list[VariantEntry]
    variants: dict[str, ResolvedVariant]
    started: float = field(default_factory=time.monotonic)
    live_ticks: dict[str, int] = field(default_factory=dict)
    _samples: deque[tuple[float, int]] = field(default_factory=deque)

    def variant_dir(self, entry: VariantEntry) -> Path:
        return self.folder / entry.folder

    def new_run_dir(self, entry: VariantEntry) -> Path:
        return self.variant_dir(entry) / new_run_id()

    def pending(self) -> list[VariantEntry]:
        return [e for e in self.entries if e.status == "pending"]

    def save(self) -> None:
        header = {
            "sweep": self.sweep.name,
            "file": str(self.sweep.file.path),
            "master_seed": self.sweep.master_seed,
            "parameters": list(self.sweep.file.grid.names()),
        }
        write_index(self.folder / INDEX_FILE, header, self.entries)

    def mark_running(self, entry: VariantEntry, endpoint: str) -> None:
        entry.status, entry.endpoint = "running", endpoint
        entry.outcome = Outcome("running")
        self.live_ticks[entry.name] = 0
        self.save()

    def mark_finished(self, entry: VariantEntry, outcome: Outcome) -> None:
        entry.status, entry.outcome = outcome.status, outcome
        self.live_ticks[entry.name] = outcome.ticks
        self.save()

    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        ticks = sum(self.live_ticks.values())
        self._samples.append((now, ticks))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW_S:
            self._samples.popleft()
        t0, k0 = self._samples[0]
        rate = (ticks - k0) / (now - t0) if now > t0 else 0.0
        return Snapshot(
            total=len(self.entries),
            done=sum(e.status == "ok" for e in self.entries),
            cached=sum(e.status == "cached" for e in self.entries),
            failed=sum(e.status in ("failed", "interrupted") for e in self.entries),
            running=sum(e.status == "running" for e in self.entries),
            ticks_per_s=rate,
            elapsed_s=now - self.started,
        )


def prepare(sweep: Sweep, out: Path, *, force: bool) -> tuple[SweepState, list[str]]:
    """Variant folders and resolved scenarios written, resume decided, leftovers cleaned."""
    folder = out / sweep.name
    folder.mkdir(parents=True, exist_ok=True)
    entries, notes = [], []
    for resolved in sweep.variants:
        variant = resolved.variant
        entry = VariantEntry(
            variant.name, variant.slug, variant.params, variant.seed, resolved.sha256
        )
        variant_dir = folder / entry.folder
        variant_dir.mkdir(exist_ok=True)
        _write_if_changed(variant_dir / SCENARIO_FILE, resolved.text)
        notes += release_leftovers(variant_dir)
        done = None if force else completed_run(variant_dir, resolved.sha256)
        if done is not None:
            entry.status, entry.outcome = "cached", outcome_of(done)
            entry.outcome.status = "cached"
        entries.append(entry)
    state = SweepState(sweep, folder, entries, {r.name: r for r in sweep.variants})
    state.save()
    return state, notes


def _write_if_changed(path: Path, text: str) -> None:
    from runner.lease import write_atomically

    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    write_atomically(path, text)


def merge_exports(state: SweepState) -> str | None:
    """One COCO file over the sweep's completed runs, when runs exported COCO."""
    try:
        from runner.export.coco import COCO_FILE, merge_coco
    except ImportError:
        return None
    runs = [
        Path(e.outcome.run_dir)
        for e in state.entries
        if e.done and e.outcome.run_dir and (Path(e.outcome.run_dir) / COCO_FILE).is_file()
    ]
    if not runs:
        return None
    target = state.folder / COCO_FILE
    counts = merge_coco(target, runs)
    return f"merged COCO: {target} ({counts['images']} images, {counts['annotations']} annotations)"
