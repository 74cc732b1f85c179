"""COCO files that load at any moment of a run, and merging several runs into one.

Each annotated frame is appended as one line to `coco.journal.jsonl` (image +
annotations, flushed) and `coco.json` is rewritten atomically every N frames and at
close, from memory, sorted by image id with annotation ids renumbered 1..n (so the
same run gives the same file). A run killed at any point leaves a `coco.json` that
loads (the last checkpoint) and a journal with every finished frame;
`load_coco(run_dir)` rebuilds from the journal when it is ahead. An image enters
COCO only after its image file is complete.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.export.annotations import ClassTable
from runner.export.tags import TAG_NAMES
from runner.export.writer import write_atomic

COCO_FILE = "coco.json"
JOURNAL_FILE = "coco.journal.jsonl"


def categories_json(table: ClassTable) -> list[dict[str, Any]]:
    return [
        {
            "id": i + 1,
            "name": name,
            "supercategory": "carla",
            "carla_tags": [TAG_NAMES[t] for t in tags],
        }
        for i, (name, tags) in enumerate(zip(table.names, table.tags, strict=True))
    ]


def build_dataset(
    info: dict[str, Any], categories: list[dict[str, Any]], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A COCO dict from journal records ({"image": ..., "annotations": [...]})."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for record in sorted(records, key=lambda r: int(r["image"]["id"])):
        images.append(record["image"])
        for ann in record["annotations"]:
            annotations.append({**ann, "id": len(annotations) + 1})
    return {
        "info": info,
        "licenses": [],
        "categories": categories,
        "images": images,
        "annotations": annotations,
    }


class CocoWriter:
    """Thread-safe: workers call `add` once per finished frame; `close` finalises."""

    def __init__(
        self,
        run_dir: Path,
        table: ClassTable,
        *,
        checkpoint_every: int = 25,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.path = run_dir / COCO_FILE
        self.table = table
        self.checkpoint_every = checkpoint_every
        self.info = {"description": "carla-scenario-runner export", **(info or {})}
        self.categories = categories_json(table)
        self._records: list[dict[str, Any]] = []
        self._classes: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._since_checkpoint = 0
        self._journal = open(run_dir / JOURNAL_FILE, "a", encoding="utf-8")  # noqa: SIM115
        self._checkpoint()

    def add(self, image: dict[str, Any], annotations: list[dict[str, Any]]) -> None:
        """One frame's image entry and annotations (without ids; ids come at write time)."""
        record = {"image": image, "annotations": annotations}
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._journal.write(line)
            self._journal.flush()
            self._records.append(record)
            for ann in annotations:
                if not ann.get("iscrowd"):
                    self._classes[self.table.names[int(ann["category_id"]) - 1]] += 1
            self._since_checkpoint += 1
            if self._since_checkpoint >= self.checkpoint_every:
                self._checkpoint()

    def class_counts(self) -> dict[str, int]:
        """Annotations per category name so far (crowd regions not counted)."""
        with self._lock:
            return {name: self._classes.get(name, 0) for name in self.table.names}

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)

    def close(self) -> None:
        with self._lock:
            self._checkpoint()
            self._journal.close()

    def _checkpoint(self) -> None:
        dataset = build_dataset(self.info, self.categories, self._records)
        write_atomic(self.path, json.dumps(dataset, separators=(",", ":")))
        self._since_checkpoint = 0


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Complete lines of a journal (a line cut by a kill is ignored)."""
    records = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def load_coco(run_dir: Path) -> dict[str, Any]:
    """The run's COCO dict: coco.json, or rebuilt from the journal when that is ahead."""
    dataset: dict[str, Any] = json.loads((run_dir / COCO_FILE).read_text(encoding="utf-8"))
    records = read_journal(run_dir / JOURNAL_FILE)
    if len(records) > len(dataset["images"]):
        dataset = build_dataset(dataset["info"], dataset["categories"], records)
    return dataset


def merge_coco(out_path: Path, run_dirs: Sequence[Path]) -> dict[str, int]:
    """One COCO file from several runs: ids made unique, paths relative to `out_path`.

    Categories are merged by name (ids in order of first appearance); image ids and
    annotation ids are renumbered 1..n; `file_name` points at each run's image from
    the folder of `out_path`. Returns counts of runs, images and annotations.
    """
    categories: dict[str, dict[str, Any]] = {}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    base = out_path.resolve().parent
    for run_dir in run_dirs:
        dataset = load_coco(Path(run_dir))
        remap = {}
        for cat in dataset["categories"]:
            merged = categories.setdefault(cat["name"], {**cat, "id": len(categories) + 1})
            remap[cat["id"]] = merged["id"]
        image_ids = {}
        for image in dataset["images"]:
            new_id = len(images) + 1
            image_ids[image["id"]] = new_id
            path = (Path(run_dir) / image["file_name"]).resolve()
            source = {"carla_run": str(Path(run_dir)), "carla_image_id": image["id"]}
            file_name = os.path.relpath(path, base)
            images.append({**image, **source, "id": new_id, "file_name": file_name})
        for ann in dataset["annotations"]:
            new = {**ann, "id": len(annotations) + 1, "image_id": image_ids[ann["image_id"]]}
            new["category_id"] = remap[ann["category_id"]]
            annotations.append(new)
    merged = {
        "info": {"description": "merged carla-scenario-runner exports"},
        "licenses": [],
        "categories": list(categories.values()),
        "images": images,
        "annotations": annotations,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out_path, json.dumps(merged, separators=(",", ":")))
    return {"runs": len(run_dirs), "images": len(images), "annotations": len(annotations)}
