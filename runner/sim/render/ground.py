"""The ground: an occupancy grid of paved areas and a terrain heightfield under them.

The grid is what procedural dressing asks "is this spot free?"; the heightfield keeps
grass a little below every road and sidewalk, following the map's elevation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from runner.sim.render import labels
from runner.sim.render.lanes import F64, LaneSamples
from runner.sim.render.meshes import MeshBuilder

MARGIN_M = 80.0
TERRAIN_CELL_M = 8.0
TERRAIN_DROP_M = 0.12


@dataclass
class Grid:
    """A boolean raster over the map's xy bounds."""

    origin: tuple[float, float]
    cell_m: float
    occupied: NDArray[np.bool_]

    @staticmethod
    def around(points: F64, cell_m: float) -> Grid:
        lo = points[:, :2].min(axis=0) - MARGIN_M
        hi = points[:, :2].max(axis=0) + MARGIN_M
        shape = np.ceil((hi - lo) / cell_m).astype(int) + 1
        return Grid((float(lo[0]), float(lo[1])), cell_m, np.zeros(tuple(shape), dtype=bool))

    def cells(self, xy: F64) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        ij = np.floor((xy[:, :2] - self.origin) / self.cell_m).astype(np.intp)
        ij[:, 0] = np.clip(ij[:, 0], 0, self.occupied.shape[0] - 1)
        ij[:, 1] = np.clip(ij[:, 1], 0, self.occupied.shape[1] - 1)
        return ij[:, 0], ij[:, 1]

    def mark(self, xy: F64) -> None:
        self.occupied[self.cells(xy)] = True

    def any_occupied(self, xy: F64) -> bool:
        return bool(self.occupied[self.cells(xy)].any())

    def extent(self) -> tuple[F64, F64]:
        lo = np.array(self.origin)
        return lo, lo + np.array(self.occupied.shape) * self.cell_m


def lane_area_points(lanes: list[LaneSamples], spacing_m: float = 0.7) -> F64:
    """Points covering every lane's surface (for rasterising)."""
    out = []
    for lane in lanes:
        c, r, w = lane.arrays()
        k = max(int(np.ceil(w.max() / spacing_m)) + 1, 2)
        t = np.linspace(-0.5, 0.5, k)
        out.append(c[:, None, :] + r[:, None, :] * (w[:, None, None] * t[None, :, None]))
    return np.concatenate([p.reshape(-1, 3) for p in out])


def terrain(paved: F64, grid: Grid) -> MeshBuilder:
    """Heightfield whose cells sit below the lowest paved point inside them."""
    lo, hi = grid.extent()
    shape = tuple(np.ceil((hi - lo) / TERRAIN_CELL_M).astype(int) + 1)
    ij = np.floor((paved[:, :2] - lo) / TERRAIN_CELL_M).astype(np.intp)
    z = np.full(shape, np.inf)
    np.minimum.at(z, (ij[:, 0], ij[:, 1]), paved[:, 2])
    z = _fill(z)
    corners = np.full((shape[0] + 1, shape[1] + 1), np.inf)
    for di in (0, 1):
        for dj in (0, 1):
            view = corners[di : di + shape[0], dj : dj + shape[1]]
            np.minimum(view, z, out=view)
    corners -= TERRAIN_DROP_M
    return _heightfield_mesh(corners, lo, TERRAIN_CELL_M)


def _fill(z: F64) -> F64:
    """Fill unknown cells by repeatedly averaging known neighbours."""
    known = np.isfinite(z)
    if not known.any():
        return np.zeros_like(z)
    z = np.where(known, z, 0.0)
    while not known.all():
        total = np.zeros_like(z)
        count = np.zeros_like(z)
        for axis in (0, 1):
            for shift in (-1, 1):
                total += np.roll(np.where(known, z, 0.0), shift, axis)
                count += np.roll(known, shift, axis)
        grow = ~known & (count > 0)
        z[grow] = total[grow] / count[grow]
        known |= grow
    return z


def _heightfield_mesh(corners: F64, lo: F64, cell_m: float) -> MeshBuilder:
    ni, nj = corners.shape
    xs = lo[0] + np.arange(ni) * cell_m
    ys = lo[1] + np.arange(nj) * cell_m
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    p = np.stack([gx, gy, corners], axis=-1)
    a, b, c, d = p[:-1, :-1], p[1:, :-1], p[:-1, 1:], p[1:, 1:]
    tris = np.concatenate(
        [np.stack([a, b, d], -2).reshape(-1, 3, 3), np.stack([a, d, c], -2).reshape(-1, 3, 3)]
    )
    rng = np.random.default_rng(7)
    base = np.array(labels.ALBEDO["terrain"])
    colors = base * rng.uniform(0.8, 1.2, (len(tris), 1)) + rng.uniform(0, 0.03, (len(tris), 3))
    mesh = MeshBuilder()
    mesh.add(tris, colors, labels.TERRAIN)
    return mesh
