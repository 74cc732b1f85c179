"""The sweep on a terminal: one line per event on stdout, a live status line, a table.

Events (a variant started, finished, failed) are printed the moment they happen,
flushed, so a failure is visible while the rest of the sweep goes on. On a TTY a
status line on stderr is redrawn in place (done/failed/running, ticks/s); elsewhere
(CI logs, pipes) there is no status line, only the events.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

from runner.sweep.index import VariantEntry
from runner.sweep.state import Snapshot, SweepState

REDRAW_INTERVAL_S = 0.2
COLUMNS = ("variant", "status", "ticks", "frames", "annotations", "wall")


def status_line(snapshot: Snapshot) -> str:
    """`sweep 3/6 done (1 cached) · 1 failed · 2 running · 152.3 ticks/s · 12 s` (pure)."""
    finished = snapshot.done + snapshot.cached
    cached = f" ({snapshot.cached} cached)" if snapshot.cached else ""
    return (
        f"sweep {finished}/{snapshot.total} done{cached} · {snapshot.failed} failed"
        f" · {snapshot.running} running · {snapshot.ticks_per_s:.1f} ticks/s"
        f" · {snapshot.elapsed_s:.0f} s"
    )


def summary_table(entries: Sequence[VariantEntry]) -> list[str]:
    """The end-of-sweep table: variant, status, ticks, frames, annotations, wall time."""
    rows = [COLUMNS] + [_row(e) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def _row(entry: VariantEntry) -> tuple[str, ...]:
    o = entry.outcome
    ran = entry.status not in ("pending", "running")
    wall = f"{o.wall_s:.1f} s" if o.wall_s is not None else "-"
    annotations = "-" if o.annotations is None else str(o.annotations)
    numbers = (str(o.ticks), str(o.frames), annotations, wall) if ran else ("-",) * 4
    return (entry.name, entry.status, *numbers)


class ConsoleReporter:
    """`runner.sweep.state.Reporter` for a terminal."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = sys.stdout if out is None else out
        self.err = sys.stderr if err is None else err
        self.live = self.err.isatty()
        self._last_draw = 0.0
        self._drawn = False

    def _print(self, text: str) -> None:
        self._erase()
        print(text, file=self.out, flush=True)

    def _erase(self) -> None:
        if self._drawn:
            self.err.write("\r\x1b[2K")
            self.err.flush()
            self._drawn = False

    def prepared(self, state: SweepState, notes: Sequence[str]) -> None:
        for note in notes:
            self._print(f"resume: {note}")
        cached = sum(e.status == "cached" for e in state.entries)
        todo = len(state.pending())
        self._print(
            f"sweep {state.sweep.name}: {len(state.entries)} variants, {cached} already"
            f" complete, {todo} to run; outputs in {state.folder}"
        )

    def started(self, entry: VariantEntry) -> None:
        self._print(f"started  {entry.name} [{entry.endpoint}]")

    def finished(self, entry: VariantEntry) -> None:
        o = entry.outcome
        wall = f", {o.wall_s:.1f} s" if o.wall_s is not None else ""
        if entry.status == "ok":
            self._print(f"ok       {entry.name}: {o.ticks} ticks, {o.frames} frames{wall}")
        else:
            where = f" ({o.run_dir})" if o.run_dir else ""
            self._print(f"{entry.status.upper():<8} {entry.name}: {o.error}{where}")

    def note(self, text: str) -> None:
        self._print(text)

    def progress(self, snapshot: Snapshot) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now - self._last_draw < REDRAW_INTERVAL_S:
            return
        self._last_draw = now
        self.err.write("\r\x1b[2K" + status_line(snapshot))
        self.err.flush()
        self._drawn = True

    def summary(self, state: SweepState, extra: Sequence[str] = ()) -> None:
        self._erase()
        lines = summary_table(state.entries)
        snapshot = state.snapshot()
        lines.append(status_line(snapshot))
        lines += list(extra)
        print("\n".join(lines), file=self.out, flush=True)
