"""Feeding captured frames to the run's exports, and noting what they wrote.

The tick loop hands each captured `Bundle` to `ExportFeed.feed` in the main thread:
one world snapshot gives the frame's context (sensor poses and intrinsics, the ego,
every actor's box) and the sinks queue the rest to their writer threads.
"""

from __future__ import annotations

from typing import Any

from runner.capture import Bundle
from runner.export.context import ContextBuilder, FrameData
from runner.export.sinks import ExportSinks, ExportSummary
from runner.manifest import RunRecord


class ExportFeed:
    """The bridge between the tick loop and the open `ExportSinks` of one world."""

    def __init__(self, sinks: ExportSinks, world: Any, ego_id: int | None) -> None:
        self.sinks = sinks
        self._builder = ContextBuilder(world, ego_id)

    def feed(self, bundle: Bundle) -> None:
        """One captured frame with its context, to every export target."""
        context = self._builder.build(bundle.frame, bundle.data)
        self.sinks.submit(
            FrameData(
                bundle.frame,
                context.sim_time_s,
                bundle.data,
                context,
                bundle.events,
                bundle.dropped,
            )
        )


def note_exports(record: RunRecord, summary: ExportSummary) -> None:
    """Counts per target, annotations per class and the preview, into the run record."""
    record.exports = summary.targets
    record.classes = summary.classes
    record.preview = None if summary.preview is None else summary.preview.name
    written: dict[str, int] = {}
    for key, counts in summary.targets.items():
        if key.startswith("images:"):  # images:<sensor> or images:<sensor>:<converter>
            sensor = key.split(":")[1]
            written[sensor] = written.get(sensor, 0) + counts.get("written", 0)
    record.written = written
