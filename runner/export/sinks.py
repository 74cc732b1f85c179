"""The export of a run, as the tick loop sees it: open, submit each frame, close.

    with ExportSinks.open(run_dir, scenario.export, sensors_info) as sinks:
        for each captured frame:
            context = builder.build(frame, bundle.data)          # main thread
            sinks.submit(FrameData(frame, context.sim_time_s, bundle.data, context,
                                   bundle.events, dropped=bundle.dropped))
    summary = sinks.summary      # counts per target, annotations per class, preview path

`submit` runs in the main thread and only reads carla objects there (pixels as
buffer views, poses, measurements); worker threads get plain numpy data and never
call into the carla client. Files, relative to the run folder:

    <camera>/<frame:08d>.png|.jpg|.npy    one converter per camera (a list: <camera>/<converter>/)
    coco.json, coco.journal.jsonl         COCO of `export.coco.camera` (image id = frame)
    yolo/                                 Ultralytics labels + data.yaml (export.yolo)
    <lidar>/<frame:08d>.ply|.npy          points in the sensor frame
    measurements/<sensor>.jsonl           GNSS, IMU, collisions with frame numbers
    frames.jsonl                          per frame: sensor poses + K, ego, every actor's box
    preview.png                           contact sheet, written at close
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from runner.export import images as img
from runner.export.annotations import ClassTable, instance_instances, semantic_instances
from runner.export.checks import CocoSources, SensorInfo, coco_sources
from runner.export.coco import CocoWriter
from runner.export.context import FrameData
from runner.export.objects import annotation_entries
from runner.export.preview import PREVIEW_FILE, PreviewRow, write_preview
from runner.export.records import (
    collision_record,
    encode_points,
    lidar_points,
    measurement_record,
)
from runner.export.targets import ExportSpec, ImageTarget
from runner.export.writer import WriterPool, write_atomic
from runner.export.yolo import open_yolo, write_yolo_frame

FRAMES_FILE = "frames.jsonl"
COCO_TARGET, YOLO_TARGET, FRAMES_TARGET = "coco", "yolo", "frames"


@dataclass(frozen=True)
class ImageOutput:
    """One image target: which sensor, where, how."""

    sensor: str
    target: ImageTarget
    folder: str
    key: str  # counts key, e.g. "images:rgb"

    def path(self, run_dir: Path, frame: int) -> Path:
        return run_dir / self.folder / f"{frame:08d}{self.target.suffix}"


def image_outputs(export: ExportSpec) -> list[ImageOutput]:
    out = []
    for sensor, targets in export.images.items():
        for target in targets:
            many = len(targets) > 1
            folder = f"{sensor}/{target.converter}" if many else sensor
            key = f"images:{sensor}:{target.converter}" if many else f"images:{sensor}"
            out.append(ImageOutput(sensor, target, folder, key))
    return out


@dataclass
class ExportSummary:
    """What close() reports: counts per target, annotations per class, the preview."""

    targets: dict[str, dict[str, int]] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    preview: Path | None = None


class ExportSinks:
    """UNOPENED -> OPEN (`open`) -> CLOSED (`close`); reuse after close raises."""

    def __init__(self, run_dir: Path, export: ExportSpec, sensors: Mapping[str, SensorInfo]):
        self.run_dir, self.export = run_dir, export
        self.sensors = dict(sensors)
        self.summary = ExportSummary()
        self._outputs = image_outputs(export)
        self._coco_sources: CocoSources | None = None
        self._coco_image: ImageOutput | None = None
        self._coco: CocoWriter | None = None
        self._table: ClassTable | None = None
        self._yolo: Path | None = None
        self._files: dict[str, IO[str]] = {}
        self._pool: WriterPool | None = None

    @classmethod
    def open(
        cls, run_dir: Path, export: ExportSpec, sensors: Mapping[str, SensorInfo]
    ) -> ExportSinks:
        sinks = cls(run_dir, export, sensors)
        sinks._start()
        return sinks

    def _start(self) -> None:
        writer = self.export.writer
        self._pool = WriterPool(writer.workers, writer.queue_frames, writer.on_full)
        for out in self._outputs:
            (self.run_dir / out.folder).mkdir(parents=True, exist_ok=True)
        keys = [o.key for o in self._outputs] + [FRAMES_TARGET]
        if self.export.coco is not None:
            self._start_coco()
            keys.append(COCO_TARGET)
        if self.export.yolo:
            keys.append(YOLO_TARGET)
        for name in self.export.lidar:
            (self.run_dir / name).mkdir(parents=True, exist_ok=True)
            keys.append(f"lidar:{name}")
        if self.export.measurements:
            (self.run_dir / "measurements").mkdir(exist_ok=True)
        for name in self.export.measurements:
            keys.append(f"measurements:{name}")
            self._files[name] = self._open_text(f"measurements/{name}.jsonl")
        self._files[FRAMES_TARGET] = self._open_text(FRAMES_FILE)
        self._pool.register(keys)

    def _open_text(self, relative: str) -> IO[str]:
        return open(self.run_dir / relative, "a", encoding="utf-8")

    def _start_coco(self) -> None:
        coco = self.export.coco
        assert coco is not None
        self._coco_sources = coco_sources(coco, self.sensors)
        self._table = ClassTable.build([(c.name, c.tag_ids) for c in coco.classes])
        info = {"camera": coco.camera, "annotations_from": self._coco_sources.instance}
        self._coco = CocoWriter(
            self.run_dir, self._table, checkpoint_every=coco.checkpoint_every, info=info
        )
        owned = [o for o in self._outputs if o.sensor == coco.camera]
        if owned:
            self._coco_image = owned[0]
        else:
            raw = ImageTarget(converter="raw")
            self._coco_image = ImageOutput(coco.camera, raw, coco.camera, f"images:{coco.camera}")
            self._outputs.append(self._coco_image)
            (self.run_dir / coco.camera).mkdir(parents=True, exist_ok=True)
        if self.export.yolo:
            self._yolo = open_yolo(self.run_dir, self._table.names)

    # -- per frame (main thread) ---------------------------------------------------------
    def submit(self, fd: FrameData) -> None:
        """Hand over one captured frame; blocks while the writer queue is full."""
        pool = self._require_open()
        self._write_line(FRAMES_TARGET, self._frame_record(fd))
        for out in self._outputs:
            if out is not self._coco_image:
                self._submit_image(pool, fd, out)
        if self._coco is not None:
            self._submit_coco(pool, fd)
        for name, fmt in self.export.lidar.items():
            self._submit_lidar(pool, fd, name, fmt)
        for name in self.export.measurements:
            self._write_measurements(fd, name)

    def _require_open(self) -> WriterPool:
        if self._pool is None or FRAMES_TARGET not in self._files:
            raise RuntimeError("ExportSinks is not open")
        return self._pool

    def _frame_record(self, fd: FrameData) -> dict[str, Any]:
        record = fd.context.as_json()
        record["frame"], record["sim_time_s"] = fd.frame, fd.sim_time_s
        record["files"] = {
            out.key: f"{out.folder}/{fd.frame:08d}{out.target.suffix}"
            for out in self._outputs
            if out.sensor in fd.data
        }
        return record

    def _write_line(self, name: str, record: dict[str, Any]) -> None:
        handle = self._files[name]
        handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        handle.flush()
        if self._pool is not None and name == FRAMES_TARGET:
            self._pool.wrote([FRAMES_TARGET])

    def _missing(self, fd: FrameData, *sensors: str) -> bool:
        """True when a sensor has no datum this frame; counted as dropped if it was due."""
        return any(s not in fd.data for s in sensors)

    def _submit_image(self, pool: WriterPool, fd: FrameData, out: ImageOutput) -> None:
        image = fd.data.get(out.sensor)
        if image is None:
            if out.sensor in fd.dropped:
                pool.dropped([out.key])
            return
        bgra = img.pixels(image.raw_data, image.width, image.height)
        path, target = out.path(self.run_dir, fd.frame), out.target

        def job(owner: Any = image) -> None:  # `owner` keeps the carla buffer alive
            data = img.encode_frame(bgra, target.converter, target.format, target.jpeg_quality)
            write_atomic(path, data)

        pool.submit((out.key,), job)

    def _submit_coco(self, pool: WriterPool, fd: FrameData) -> None:
        sources, out = self._coco_sources, self._coco_image
        assert sources is not None and out is not None
        labels_from = sources.instance or sources.semantic
        keys = (out.key, COCO_TARGET) + ((YOLO_TARGET,) if self._yolo else ())
        if labels_from is None or self._missing(fd, sources.camera, labels_from):
            if sources.camera in fd.data or sources.camera in fd.dropped:
                pool.dropped(keys)
            return
        camera, labels = fd.data[sources.camera], fd.data[labels_from]
        owners = (camera, labels)
        rgb = img.pixels(camera.raw_data, camera.width, camera.height)
        ids = img.pixels(labels.raw_data, labels.width, labels.height)
        job = _CocoJob(self, fd, out, rgb, ids, semantic=sources.instance is None, owners=owners)
        pool.submit(keys, job)

    def _submit_lidar(self, pool: WriterPool, fd: FrameData, name: str, fmt: str) -> None:
        key = f"lidar:{name}"
        datum = fd.data.get(name)
        if datum is None:
            if name in fd.dropped:
                pool.dropped([key])
            return
        points = lidar_points(datum)
        path = self.run_dir / name / f"{fd.frame:08d}.{fmt}"
        pool.submit((key,), lambda: write_atomic(path, encode_points(points, fmt)))

    def _write_measurements(self, fd: FrameData, name: str) -> None:
        records = []
        if name in fd.events:
            records = [collision_record(e, fd.frame, fd.sim_time_s) for e in fd.events[name]]
        elif name in fd.data:
            records = [measurement_record(fd.data[name], fd.frame, fd.sim_time_s)]
        for record in records:
            self._files[name].write(json.dumps(record, separators=(",", ":")) + "\n")
        self._files[name].flush()
        if self._pool is not None and records:
            self._pool.wrote([f"measurements:{name}"])

    # -- close -------------------------------------------------------------------------
    def close(self, *, raise_errors: bool = True) -> ExportSummary:
        """Drain the writers, finalise COCO, write the preview; returns the summary."""
        if self._pool is None:
            return self.summary
        pool, self._pool = self._pool, None
        try:
            counts = pool.close(raise_errors=raise_errors)
        finally:
            for handle in self._files.values():
                handle.close()
            self._files.clear()
            if self._coco is not None:
                self._coco.close()
        self.summary.targets = {k: c.as_dict() for k, c in counts.items()}
        if self._coco is not None:
            self.summary.classes = self._coco.class_counts()
        self.summary.preview = self._write_preview()
        return self.summary

    def _write_preview(self) -> Path | None:
        rows = [
            PreviewRow(out.key.removeprefix("images:"), self.run_dir / out.folder, out.target)
            for out in self._outputs
        ]
        records = self._coco.records() if self._coco is not None else []
        names = self._table.names if self._table is not None else ()
        camera = self._coco_sources.camera if self._coco_sources is not None else None
        path = self.run_dir / PREVIEW_FILE
        return write_preview(path, rows, records, names, camera, self.sensors)

    def __enter__(self) -> ExportSinks:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(raise_errors=exc is None)


class _CocoJob:
    """Worker side of one COCO frame: image file first, then annotations, then YOLO."""

    def __init__(
        self,
        sinks: ExportSinks,
        fd: FrameData,
        out: ImageOutput,
        rgb: Any,
        ids: Any,
        *,
        semantic: bool,
        owners: tuple[Any, ...],
    ) -> None:
        self.sinks, self.fd, self.out = sinks, fd, out
        self.rgb, self.ids, self.semantic = rgb, ids, semantic
        self.owners = owners  # keep the carla buffers alive until the job ran

    def __call__(self) -> None:
        sinks, fd, out = self.sinks, self.fd, self.out
        coco, table = sinks._coco, sinks._table
        spec = sinks.export.coco
        assert coco is not None and table is not None and spec is not None
        path, target = out.path(sinks.run_dir, fd.frame), out.target
        write_atomic(
            path, img.encode_frame(self.rgb, target.converter, target.format, target.jpeg_quality)
        )
        if self.semantic:
            found = semantic_instances(self.ids, table, spec.min_visible_px)
        else:
            found = instance_instances(self.ids, table, spec.min_visible_px, spec.crowd)
        height, width = self.rgb.shape[:2]
        entries = annotation_entries(found, fd.context, spec.camera, fd.frame)
        image = {
            "id": fd.frame,
            "file_name": f"{out.folder}/{path.name}",
            "width": width,
            "height": height,
            "frame": fd.frame,
            "sim_time_s": fd.sim_time_s,
            "camera": spec.camera,
        }
        if sinks._yolo is not None:
            write_yolo_frame(sinks._yolo, path, entries, width, height)
        coco.add(image, entries)
