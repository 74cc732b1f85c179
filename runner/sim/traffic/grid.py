"""Fixed-radius neighbour search over lane samples, batched with numpy.

The Traffic Manager asks two questions of the road samples every step: "which sample is
this vehicle on" and "which samples does this obstacle cover". Both are "samples within
r of each point", answered here from a uniform grid without a Python loop over points.
The grid is a dense table over the map's extent (a CARLA town is a few 10^4 cells), so a
cell is found by arithmetic instead of a search; cells hold compressed rows of samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

PAD = 2
_OFFSETS = np.array([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)], dtype=np.int64)


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
        n = len(self._xy)
        ij = np.floor(self._xy / self._cell).astype(np.int64) if n else np.zeros((0, 2), np.int64)
        # a ring of PAD empty cells: the 3 x 3 block of any clipped query cell is in the table
        self._origin = (ij.min(axis=0) if n else np.zeros(2, np.int64)) - PAD
        span = (ij.max(axis=0) - self._origin + 1 + PAD) if n else np.full(2, 2 * PAD + 1)
        self._nx, self._ny = int(span[0]), int(span[1])
        key = (ij[:, 0] - self._origin[0]) * self._ny + (ij[:, 1] - self._origin[1])
        order = np.argsort(key, kind="stable")
        self._members = order.astype(np.int64)
        counts = np.bincount(key, minlength=self._nx * self._ny)
        self._start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._offsets = (_OFFSETS[:, 0] * self._ny + _OFFSETS[:, 1]).astype(np.int64)
        self._mx = np.ascontiguousarray(self._xy[self._members, 0])  # 1-D: fast to gather
        self._my = np.ascontiguousarray(self._xy[self._members, 1])

    def _cells_around(self, x: FloatArray, y: FloatArray) -> IntArray:
        """(n * 9,) table index of the 3 x 3 cells around each point.

        A point off the map is clipped into the empty ring (or next to it): its block
        may then list samples that are far away, which the distance test drops.
        """
        ix = np.floor(x / self._cell).astype(np.int64) - self._origin[0]
        iy = np.floor(y / self._cell).astype(np.int64) - self._origin[1]
        np.clip(ix, 1, self._nx - 2, out=ix)
        np.clip(iy, 1, self._ny - 2, out=iy)
        return ((ix * self._ny + iy)[:, None] + self._offsets[None, :]).ravel()

    def within(self, points: FloatArray, radius_m: float | FloatArray) -> Hits:
        """Every sample within `radius_m` (per point or one value, <= cell_m) of each point."""
        n = len(points)
        empty = Hits(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        if n == 0 or len(self._members) == 0:
            return empty
        xy = np.asarray(points, dtype=np.float64)
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        cell = self._cells_around(x, y)
        lo = self._start[cell]
        counts = self._start[cell + 1] - lo
        total = int(counts.sum())
        if total == 0:
            return empty
        nonzero = counts > 0
        lo, counts = lo[nonzero], counts[nonzero]
        rows = np.repeat(np.arange(n), 9)[nonzero]
        run_start = np.cumsum(counts) - counts
        pos = np.arange(total) + np.repeat(lo - run_start, counts)
        rows = np.repeat(rows, counts)
        dx = self._mx[pos] - x[rows]
        dy = self._my[pos] - y[rows]
        d2 = dx * dx + dy * dy
        r = np.asarray(radius_m, dtype=np.float64)
        r2 = r * r if r.ndim == 0 else (r * r)[rows]
        keep = d2 <= r2
        return Hits(rows[keep], self._members[pos[keep]], d2[keep])
