"""Pure parts of the export: RLE from crops, instance grouping, geometry, writer, COCO."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from runner.errors import ExportError
from runner.export.annotations import (
    SOURCE_SEMANTIC,
    ClassTable,
    crop_rle_counts,
    decode,
    instance_instances,
    semantic_instances,
)
from runner.export.coco import CocoWriter, load_coco
from runner.export.geometry import (
    clip_to_rect,
    convex_hull,
    intrinsics,
    polygon_area,
    pose_matrix,
    silhouette_areas,
)
from runner.export.writer import WriterPool, write_atomic

CAR, SIGN, ROAD = 14, 8, 1
TABLE = ClassTable.build([("car", [CAR]), ("traffic sign", [SIGN])])


def _instance_image(tags: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """BGRA: B = id high byte, G = id low byte, R = tag (CARLA 0.9.16)."""
    out = np.zeros((*tags.shape, 4), dtype=np.uint8)
    out[..., 0], out[..., 1], out[..., 2], out[..., 3] = ids >> 8, ids & 255, tags, 255
    return out


@pytest.mark.parametrize("seed", range(40))
def test_crop_rle_equals_full_image_encoding(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(1, 25, 2))
    mask = rng.random((height, width)) < rng.uniform(0.05, 0.95)
    if not mask.any():
        mask[height - 1, width - 1] = True
    rows, cols = np.nonzero(mask)
    r0, c0 = rows.min(), cols.min()
    crop = mask[r0 : rows.max() + 1, c0 : cols.max() + 1]
    counts = crop_rle_counts(crop, int(r0), int(c0), height, width)
    ours = mask_utils.frPyObjects({"counts": counts, "size": [height, width]}, height, width)
    assert ours["counts"] == mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"]


def test_touching_instances_stay_apart_and_crowd_is_optional() -> None:
    tags = np.full((60, 80), ROAD, dtype=np.int64)
    ids = np.zeros((60, 80), dtype=np.int64)
    tags[10:30, 10:40], ids[10:30, 10:40] = CAR, 300  # id > 255: uses the B byte
    tags[10:30, 40:60], ids[10:30, 40:60] = CAR, 7  # touching the first
    tags[40:50, 5:9] = SIGN  # a sign without id
    image = _instance_image(tags, ids)
    found = instance_instances(image, TABLE, min_px=1)
    assert [(i.instance_id, i.bbox, i.area) for i in found] == [
        (300, (10, 10, 30, 20), 600),
        (7, (40, 10, 20, 20), 400),
    ]
    crowd = instance_instances(image, TABLE, min_px=1, crowd=True)
    assert [(i.category, i.iscrowd, i.area) for i in crowd][-1] == (1, True, 40)
    for inst in crowd:
        mask = decode(inst.rle)
        assert mask.shape == (60, 80) and mask.sum() == inst.area
    assert instance_instances(image, TABLE, min_px=500)[0].instance_id == 300


def test_a_frame_without_any_wanted_object_has_no_annotations() -> None:
    """Found on a GPU run: an empty frame made pycocotools raise (IndexError)."""
    image = _instance_image(np.full((60, 80), ROAD, dtype=np.int64), np.zeros((60, 80), np.int64))
    assert instance_instances(image, TABLE, min_px=1) == []
    assert semantic_instances(image, TABLE, min_px=1) == []
    tags = np.full((60, 80), ROAD, dtype=np.int64)
    tags[0:2, 0:2] = CAR
    small = _instance_image(tags, np.full((60, 80), 5, dtype=np.int64))
    assert instance_instances(small, TABLE, min_px=500) == []


def test_semantic_fallback_merges_touching_objects_and_is_marked() -> None:
    tags = np.full((60, 80), ROAD, dtype=np.int64)
    tags[10:30, 10:60] = CAR
    tags[40:50, 5:9] = CAR
    found = semantic_instances(_instance_image(tags, np.zeros_like(tags)), TABLE, min_px=1)
    assert sorted(i.area for i in found) == [40, 1000]
    assert {i.source for i in found} == {SOURCE_SEMANTIC}


def test_pose_matrix_is_carlas() -> None:
    carla = pytest.importorskip("carla")
    pose = (1.0, -2.0, 3.0, 10.0, -35.0, 5.0)
    t = carla.Transform(carla.Location(*pose[:3]), carla.Rotation(*pose[3:]))
    assert np.allclose(pose_matrix(pose), np.array(t.get_matrix()), atol=1e-5)


def test_intrinsics_and_silhouette() -> None:
    k = intrinsics(800, 600, 90.0)
    assert k[0, 0] == pytest.approx(400.0) and (k[0, 2], k[1, 2]) == (400.0, 300.0)
    square = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (10.0, 10.0)])
    inside, whole = silhouette_areas(square, k, 800, 600)
    assert inside == pytest.approx(whole) == pytest.approx(80.0**2)
    shifted = square + np.array([10.0, 0.0, 0.0])  # centred on the right edge: half outside
    inside, whole = silhouette_areas(shifted, k, 800, 600)
    assert inside / whole == pytest.approx(0.5)
    behind = square - [0.0, 0.0, 20.0]
    assert silhouette_areas(behind, k, 800, 600) == (0.0, 0.0)


def test_polygon_helpers() -> None:
    hull = convex_hull(np.array([[0, 0], [2, 0], [2, 2], [0, 2], [1, 1]], dtype=float))
    assert len(hull) == 4 and polygon_area(hull) == pytest.approx(4.0)
    assert polygon_area(clip_to_rect(hull, 1, 1, 5, 5)) == pytest.approx(1.0)


def test_write_atomic_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    write_atomic(path, "hello")
    assert path.read_text() == "hello" and list(tmp_path.iterdir()) == [path]


def test_pool_counts_drops_when_full_and_reports_failures() -> None:
    gate = threading.Event()
    pool = WriterPool(workers=1, queue_size=1, on_full="drop")

    def wait_for_gate() -> None:
        gate.wait()

    results = [pool.submit(("a",), wait_for_gate) for _ in range(4)]
    gate.set()
    assert results[0] and results.count(False) >= 2  # one running, one queued at most
    counts = pool.close()["a"]
    assert counts.written + counts.dropped == 4 and counts.dropped == results.count(False)
    failing = WriterPool(workers=1)
    failing.submit(("b",), lambda: 1 / 0)  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="export b"):
        failing.close()
    assert failing.counts()["b"].failed == 1


def test_coco_writer_checkpoints_and_journal_rebuilds(tmp_path: Path) -> None:
    writer = CocoWriter(tmp_path, TABLE, checkpoint_every=2)
    ann = {"category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}
    for frame in (5, 3, 4):  # finish out of order
        writer.add({"id": frame, "file_name": f"{frame}.png"}, [ann, ann])
    checkpoint = json.loads((tmp_path / "coco.json").read_text())
    assert [i["id"] for i in checkpoint["images"]] == [3, 5]  # sorted; frame 4 after it
    rebuilt = load_coco(tmp_path)  # the journal is ahead of the checkpoint
    assert [i["id"] for i in rebuilt["images"]] == [3, 4, 5]
    assert [a["id"] for a in rebuilt["annotations"]] == list(range(1, 7))
    writer.close()
    assert writer.class_counts() == {"car": 6, "traffic sign": 0}
    assert len(json.loads((tmp_path / "coco.json").read_text())["images"]) == 3
