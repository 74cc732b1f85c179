"""Per-object annotations from one instance-segmentation frame (pure numpy + pycocotools).

CARLA 0.9.16 instance images (carla-sensors.md §6): semantic tag in R, object id in
G + 256 B (the actor id for actors, truncated to 16 bits). One annotation per
(class, id) with at least `min_visible_px` pixels. All instances are measured in
one pass: pixels of wanted classes are picked with a tag lookup table, grouped by
`np.unique`, areas come from `bincount`, boxes from `minimum/maximum.at`; then each
instance's RLE is computed on its own bounding-box crop only (runs in column-major
order, shifted to full-image positions) and all are compressed in one pycocotools
call. Pixels of a wanted class with id 0 form, per class, one `iscrowd` region
when asked.

Without an instance camera, `semantic_instances` labels connected components
(8-connected) of each wanted tag's exact pixels; those annotations carry
`carla_source: "semantic_components"` (touching objects of a class merge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from pycocotools import mask as mask_utils

SOURCE_INSTANCE = "instance"
SOURCE_SEMANTIC = "semantic_components"


@dataclass(frozen=True)
class ClassTable:
    """Category names (COCO ids are index + 1) and the tag -> category lookup."""

    names: tuple[str, ...]
    tags: tuple[tuple[int, ...], ...]
    lut: NDArray[np.uint8]  # (256,) category index + 1, 0 = not annotated

    @staticmethod
    def build(classes: Sequence[tuple[str, Sequence[int]]]) -> ClassTable:
        if len(classes) > 254:
            raise ValueError("at most 254 classes")
        lut = np.zeros(256, dtype=np.uint8)
        for index, (_name, tags) in enumerate(classes):
            lut[list(tags)] = index + 1
        names = tuple(name for name, _ in classes)
        return ClassTable(names, tuple(tuple(t) for _, t in classes), lut)


@dataclass(frozen=True)
class Instance:
    """One annotated region of one frame."""

    category: int  # index into ClassTable.names
    instance_id: int  # G + 256 B (0 for crowd and semantic components)
    area: int
    bbox: tuple[int, int, int, int]  # x, y, w, h [px]
    rle: dict[str, Any]  # COCO compressed RLE, counts as str
    iscrowd: bool = False
    source: str = SOURCE_INSTANCE


def instance_ids(bgra: NDArray[np.uint8]) -> NDArray[np.int32]:
    """(H, W) object ids G + 256 B of an instance image."""
    return bgra[..., 1].astype(np.int32) | (bgra[..., 0].astype(np.int32) << 8)


def instance_instances(
    bgra: NDArray[np.uint8], table: ClassTable, min_px: int = 1, crowd: bool = False
) -> list[Instance]:
    """Every (class, id) region of an instance image, largest first within a class."""
    height, width = bgra.shape[:2]
    flat = bgra.reshape(-1, 4)
    category = np.take(table.lut, flat[:, 2])
    idx = np.flatnonzero(category)
    if len(idx) == 0:
        return []
    sub = flat[idx]
    ids = sub[:, 1].astype(np.int64) | (sub[:, 0].astype(np.int64) << 8)
    keys = (category[idx].astype(np.int64) << 16) | ids
    unique, inverse = np.unique(keys, return_inverse=True)
    groups = _Groups(idx, inverse.reshape(-1), len(unique), width, height)
    keep = groups.areas >= min_px
    crowd_rows = (unique & 0xFFFF) == 0
    wanted = np.flatnonzero(keep & (~crowd_rows | crowd))
    return groups.instances(
        wanted,
        categories=(unique >> 16) - 1,
        ids=unique & 0xFFFF,
        crowd=crowd_rows,
        source=SOURCE_INSTANCE,
    )


def semantic_instances(
    bgra: NDArray[np.uint8], table: ClassTable, min_px: int = 1
) -> list[Instance]:
    """Connected components of each wanted tag (fallback without an instance camera)."""
    height, width = bgra.shape[:2]
    category = table.lut[bgra[..., 2]]
    labels = np.zeros((height, width), dtype=np.int32)
    cats: list[int] = []
    for cat in np.unique(category):
        if cat == 0:
            continue
        count, comp = cv2.connectedComponents((category == cat).astype(np.uint8), connectivity=8)
        inside = comp > 0
        labels[inside] = comp[inside] + len(cats)
        cats += [int(cat) - 1] * (count - 1)
    idx = np.flatnonzero(labels)
    if len(idx) == 0:
        return []
    groups = _Groups(idx, labels.reshape(-1)[idx].astype(np.int64) - 1, len(cats), width, height)
    wanted = np.flatnonzero(groups.areas >= min_px)
    n = len(cats)
    return groups.instances(
        wanted,
        categories=np.asarray(cats, dtype=np.int64),
        ids=np.zeros(n, dtype=np.int64),
        crowd=np.zeros(n, dtype=bool),
        source=SOURCE_SEMANTIC,
    )


class _Groups:
    """Pixels (flat indices) grouped by label 0..n-1: areas, boxes and RLEs."""

    def __init__(
        self, idx: NDArray[np.int64], label: NDArray[np.int64], n: int, width: int, height: int
    ) -> None:
        self.width, self.height = width, height
        rows, cols = np.divmod(idx, width)
        self.areas = np.bincount(label, minlength=n)
        self.r0 = np.full(n, height, dtype=np.int64)
        self.c0 = np.full(n, width, dtype=np.int64)
        self.r1 = np.zeros(n, dtype=np.int64)
        self.c1 = np.zeros(n, dtype=np.int64)
        np.minimum.at(self.r0, label, rows)
        np.minimum.at(self.c0, label, cols)
        np.maximum.at(self.r1, label, rows + 1)
        np.maximum.at(self.c1, label, cols + 1)
        flat = np.zeros(height * width, dtype=np.int32)
        flat[idx] = label + 1
        self.labels = flat.reshape(height, width)

    def instances(
        self,
        wanted: NDArray[np.int64],
        *,
        categories: NDArray[np.int64],
        ids: NDArray[np.int64],
        crowd: NDArray[np.bool_],
        source: str,
    ) -> list[Instance]:
        order = sorted(wanted.tolist(), key=lambda k: (categories[k], -self.areas[k]))
        if not order:  # pycocotools cannot encode an empty list (IndexError)
            return []
        counts = [self._counts(k) for k in order]
        size = [self.height, self.width]
        rles = mask_utils.frPyObjects([{"counts": c, "size": size} for c in counts], *size)
        out = []
        for k, rle in zip(order, rles, strict=True):
            x, y = int(self.c0[k]), int(self.r0[k])
            box = (x, y, int(self.c1[k]) - x, int(self.r1[k]) - y)
            rle["counts"] = rle["counts"].decode("ascii")
            out.append(
                Instance(
                    int(categories[k]),
                    int(ids[k]),
                    int(self.areas[k]),
                    box,
                    rle,
                    bool(crowd[k]),
                    source,
                )
            )
        return out

    def _counts(self, k: int) -> NDArray[np.uint32]:
        r0, r1, c0, c1 = int(self.r0[k]), int(self.r1[k]), int(self.c0[k]), int(self.c1[k])
        crop = self.labels[r0:r1, c0:c1] == k + 1
        return crop_rle_counts(crop, r0, c0, self.height, self.width)


def crop_rle_counts(
    crop: NDArray[np.bool_], r0: int, c0: int, height: int, width: int
) -> NDArray[np.uint32]:
    """COCO (column-major, zeros first) run lengths of a full-size mask known by its crop."""
    h, w = crop.shape
    padded = np.zeros((w, h + 2), dtype=np.int8)  # crop columns as rows, a zero at each end
    padded[:, 1:-1] = crop.T
    line = padded.reshape(-1)
    change = np.flatnonzero(line[1:] != line[:-1]) + 1
    col, offset = np.divmod(change, h + 2)
    position = (c0 + col) * height + r0 + offset - 1
    # a run through the bottom of one column and the top of the next is one run:
    # its end and restart fall on the same position and cancel; so does an end at H*W
    same = np.flatnonzero(position[1:] == position[:-1])
    keep = np.ones(len(position), dtype=bool)
    keep[same] = keep[same + 1] = False
    keep &= position < height * width
    bounds = np.concatenate(([0], position[keep], [height * width]))
    return np.diff(bounds).astype(np.uint32)


def decode(rle: dict[str, Any]) -> NDArray[np.uint8]:
    """The (H, W) 0/1 mask of an RLE (counts as str or bytes)."""
    counts = rle["counts"]
    data = {"size": rle["size"], "counts": counts.encode() if isinstance(counts, str) else counts}
    return np.asarray(mask_utils.decode(data))
