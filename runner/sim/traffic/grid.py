"""Fixed-radius neighbour search over lane samples, batched with numpy.

The Traffic Manager asks two questions of the road samples every step: "which sample is
this vehicle on" and "which samples does this obstacle cover". Both are "samples within
r of each point", answered here from a uniform grid without a Python loop over points.
The grid is a dense table over the map's extent (a CARLA town is ~10^5 cells), so a cell
is found by arithmetic instead of a search; cells hold compressed rows of samples. A query
looks only at the cells its circle's bounding square touches, so small cells (several per
radius) keep the candidates few.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

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


class GridTable(NamedTuple):
    """A grid's cells as plain arrays and numbers (what a numba kernel can take)."""

    members: IntArray  # sample indices, cell by cell
    start: IntArray  # cell c holds members[start[c]:start[c + 1]]
    mx: FloatArray  # x, y of members[i]
    my: FloatArray
    origin_x: int  # cell (i, j) is table cell (i - origin_x) * ny + (j - origin_y)
    origin_y: int
    nx: int
    ny: int
    cell_m: float
    reach: int  # radius in cells a query may span


class SampleGrid:
    """Samples bucketed by square cells of `cell_m`; radii up to `reach` cells are answered."""

    def __init__(self, xy: FloatArray, cell_m: float, reach: int = 1) -> None:
        self._xy = np.ascontiguousarray(xy[:, :2], dtype=np.float64)
        self._cell = float(cell_m)
        self._reach = int(reach)
        self.max_radius_m = self._cell * self._reach
        pad = self._reach + 1  # empty ring: the block of any clipped query cell is in the table
        n = len(self._xy)
        ij = np.floor(self._xy / self._cell).astype(np.int64) if n else np.zeros((0, 2), np.int64)
        self._origin = (ij.min(axis=0) if n else np.zeros(2, np.int64)) - pad
        span = (ij.max(axis=0) - self._origin + 1 + pad) if n else np.full(2, 2 * pad + 1)
        self._nx, self._ny = int(span[0]), int(span[1])
        key = (ij[:, 0] - self._origin[0]) * self._ny + (ij[:, 1] - self._origin[1])
        order = np.argsort(key, kind="stable")
        self._members = order.astype(np.int64)
        counts = np.bincount(key, minlength=self._nx * self._ny + 1)  # the last cell: empty
        self._start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._empty = self._nx * self._ny
        side = np.arange(-self._reach, self._reach + 1, dtype=np.int64)
        self._dx = np.repeat(side, len(side))  # block offsets, x-major
        self._dy = np.tile(side, len(side))
        self._mx = np.ascontiguousarray(self._xy[self._members, 0])  # 1-D: fast to gather
        self._my = np.ascontiguousarray(self._xy[self._members, 1])

    def table(self) -> GridTable:
        """The grid's arrays, for compiled kernels that walk the cells themselves."""
        return GridTable(
            self._members,
            self._start,
            self._mx,
            self._my,
            int(self._origin[0]),
            int(self._origin[1]),
            self._nx,
            self._ny,
            self._cell,
            self._reach,
        )

    def _cells_around(self, x: FloatArray, y: FloatArray, r: FloatArray) -> IntArray:
        """(n * block,) table index of the cells each point's circle may touch, else empty.

        A point off the map is clipped into the empty ring (or next to it): its block
        may then list samples that are far away, which the distance test drops.
        """
        lim_x, lim_y = self._nx - 1 - self._reach, self._ny - 1 - self._reach
        ix = np.clip(
            np.floor(x / self._cell).astype(np.int64) - self._origin[0], self._reach, lim_x
        )
        iy = np.clip(
            np.floor(y / self._cell).astype(np.int64) - self._origin[1], self._reach, lim_y
        )
        lo_x = np.floor((x - r) / self._cell).astype(np.int64) - self._origin[0] - ix
        hi_x = np.floor((x + r) / self._cell).astype(np.int64) - self._origin[0] - ix
        lo_y = np.floor((y - r) / self._cell).astype(np.int64) - self._origin[1] - iy
        hi_y = np.floor((y + r) / self._cell).astype(np.int64) - self._origin[1] - iy
        dx, dy = self._dx[None, :], self._dy[None, :]
        touched = (dx >= lo_x[:, None]) & (dx <= hi_x[:, None])
        touched &= (dy >= lo_y[:, None]) & (dy <= hi_y[:, None])
        cell = (ix * self._ny + iy)[:, None] + (dx * self._ny + dy)
        return np.where(touched, cell, self._empty).ravel()

    def within(self, points: FloatArray, radius_m: float | FloatArray) -> Hits:
        """Every sample within `radius_m` (one per point, or one for all; <= max_radius_m)."""
        n = len(points)
        empty = Hits(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        if n == 0 or len(self._members) == 0:
            return empty
        xy = np.asarray(points, dtype=np.float64)
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        r = np.broadcast_to(np.asarray(radius_m, dtype=np.float64), (n,))
        cell = self._cells_around(x, y, r)
        lo = self._start[cell]
        counts = self._start[cell + 1] - lo
        nonzero = np.flatnonzero(counts)
        if len(nonzero) == 0:
            return empty
        lo, counts = lo[nonzero], counts[nonzero]
        total = int(counts.sum())
        rows = nonzero // len(self._dx)
        run_start = np.cumsum(counts) - counts
        pos = np.arange(total) + np.repeat(lo - run_start, counts)
        rows = np.repeat(rows, counts)
        ddx = self._mx[pos] - x[rows]
        ddy = self._my[pos] - y[rows]
        d2 = ddx * ddx + ddy * ddy
        r2 = (r * r)[rows]
        keep = d2 <= r2
        return Hits(rows[keep], self._members[pos[keep]], d2[keep])
