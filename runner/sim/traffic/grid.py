"""Fixed-radius neighbour search over lane samples, batched with numpy.

The Traffic Manager asks two questions of the road samples every step: "which sample is
this vehicle on" and "which samples does this obstacle cover". Both are "samples within
r of each point", answered here from a uniform grid (compressed rows per cell) without a
Python loop over points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Hits:
    """Flat (query row, sample, squared planar distance) triples of one `within` call."""

    row: IntArray
    sample: IntArray
    d2: FloatArray


class SampleGrid:
    """Samples bucketed by square cells of `cell_m`; queries look at the 3 x 3 cells around."""

    def __init__(self, xy: FloatArray, cell_m: float) -> None:
        self._xy = np.ascontiguousarray(xy[:, :2], dtype=np.float64)
        self._cell = float(cell_m)
        keys = self._keys(self._xy)
        order = np.argsort(keys, kind="stable")
        self._members = order.astype(np.int64)
        self._cells, self._starts, self._counts = np.unique(
            keys[order], return_index=True, return_counts=True
        )

    def _keys(self, xy: FloatArray) -> IntArray:
        ij = np.floor(xy / self._cell).astype(np.int64) + (1 << 20)
        return ij[:, 0] * (1 << 21) + ij[:, 1]

    def within(self, points: FloatArray, radius_m: float | FloatArray) -> Hits:
        """Every sample within `radius_m` (per point or one value, <= cell_m) of each point."""
        n = len(points)
        empty = Hits(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        if n == 0 or len(self._cells) == 0:
            return empty
        xy = np.asarray(points, dtype=np.float64)[:, :2]
        base = np.floor(xy / self._cell).astype(np.int64) + (1 << 20)
        offsets = np.array([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)], dtype=np.int64)
        cells = base[:, None, :] + offsets[None, :, :]  # (n, 9, 2)
        keys = (cells[..., 0] * (1 << 21) + cells[..., 1]).ravel()
        rows = np.repeat(np.arange(n), 9)
        slot = np.minimum(np.searchsorted(self._cells, keys), len(self._cells) - 1)
        found = self._cells[slot] == keys
        rows, slot = rows[found], slot[found]
        counts = self._counts[slot]
        if counts.sum() == 0:
            return empty
        first = np.repeat(self._starts[slot], counts)
        run_start = np.repeat(np.cumsum(counts) - counts, counts)
        members = self._members[first + np.arange(counts.sum()) - run_start]
        rows = np.repeat(rows, counts)
        delta = self._xy[members] - xy[rows]
        d2 = delta[:, 0] ** 2 + delta[:, 1] ** 2
        r = np.broadcast_to(np.asarray(radius_m, dtype=np.float64), (n,))[rows]
        keep = d2 <= r * r
        return Hits(rows[keep], members[keep], d2[keep])
