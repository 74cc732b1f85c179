"""Procedural street dressing behind the sidewalks: buildings, trees and street lamps.

Deterministic per map: one generator seeded from the map name. Every placement asks
the occupancy grid first and marks what it takes, so nothing lands on a road.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from runner.sim.render import labels, shapes
from runner.sim.render.ground import Grid
from runner.sim.render.lanes import F64, LaneSamples
from runner.sim.render.meshes import (
    PAINT_WINDOW,
    MeshBuilder,
    pose_matrices,
    transform_unit,
    unit_blob,
)
from runner.sim.render.roads import KERB_M

BUILDING_EVERY_M = 9.0
TREE_EVERY_M = 14.0
LAMP_EVERY_M = 32.0
PARK_TREES = 900


@dataclass
class Edge:
    """Outer edge of one sidewalk: points (N, 3), outward unit vectors, tangents."""

    points: F64
    outward: F64
    tangent: F64


def seed_for(map_name: str) -> int:
    return zlib.crc32(map_name.encode("utf-8"))


def sidewalk_edges(lanes: list[LaneSamples]) -> list[Edge]:
    out = []
    for lane in lanes:
        if lane.lane_type != "Sidewalk":
            continue
        _left, right = lane.edges(KERB_M)
        _c, r, _w = lane.arrays()
        tangent = np.gradient(right, axis=0)
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
        out.append(Edge(right, r, tangent))
    return out


def _footprint(center: F64, tangent: F64, outward: F64, half: tuple[float, float]) -> F64:
    u = np.linspace(-1.0, 1.0, max(int(half[0]), 2) + 1)
    v = np.linspace(-1.0, 1.0, max(int(half[1]), 2) + 1)
    uu, vv = np.meshgrid(u * half[0], v * half[1])
    return np.asarray(center + uu.reshape(-1, 1) * tangent + vv.reshape(-1, 1) * outward)


def buildings(edges: list[Edge], grid: Grid, rng: np.random.Generator) -> MeshBuilder:
    """Boxes with window bands set back from the sidewalk, one try every few metres."""
    rows = []
    for edge in edges:
        for i in range(0, len(edge.points), int(BUILDING_EVERY_M)):
            half = (rng.uniform(4.0, 11.0), rng.uniform(5.0, 10.0))
            setback = rng.uniform(0.5, 3.0)
            t, o = edge.tangent[i], edge.outward[i]
            t = t - o * np.dot(t, o)
            t /= max(float(np.linalg.norm(t)), 1e-9)
            center = edge.points[i] + o * (setback + half[1])
            foot = _footprint(center, t, o, half)
            if grid.any_occupied(foot):
                continue
            grid.mark(_footprint(center, t, o, (half[0] + 1.0, half[1] + 1.0)))
            height = rng.choice(
                [rng.uniform(6, 14), rng.uniform(14, 30), rng.uniform(30, 60)], p=[0.55, 0.35, 0.10]
            )
            yaw = np.arctan2(t[1], t[0])
            rows.append((*center[:2], edge.points[i][2] - 0.5, yaw, *half, height))
    return _building_mesh(np.array(rows).reshape(-1, 7), rng)


def _building_mesh(rows: F64, rng: np.random.Generator) -> MeshBuilder:
    mesh = MeshBuilder()
    if len(rows) == 0:
        return mesh
    x, y, z0, yaw, hx, hy, h = rows.T
    palette = np.array(labels.BUILDING_PALETTE)
    colors = palette[rng.integers(0, len(palette), len(rows))]
    centers = np.stack([x, y, z0 + h / 2], 1)
    walls = transform_unit(
        shapes.box((-1, -1, -1), (1, 1, 1)),
        pose_matrices(centers, yaw, np.stack([hx, hy, h / 2], 1)),
    )
    ids = mesh.new_objects(len(rows))  # one instance per building, windows included
    mesh.add(walls, np.repeat(colors, 12, axis=0), labels.BUILDINGS, objects=np.repeat(ids, 12))
    # window bands: a slightly larger, dark, thin slab every 3.5 m of height
    floors = [(i, f) for i in range(len(rows)) for f in np.arange(2.0, h[i] - 1.0, 3.5)]
    if floors:
        idx = np.array([i for i, _ in floors])
        zf = np.array([f for _, f in floors])
        c = np.stack([x[idx], y[idx], z0[idx] + zf + 0.8], 1)
        s = np.stack([hx[idx] + 0.03, hy[idx] + 0.03, np.full(len(idx), 0.6)], 1)
        bands = transform_unit(shapes.box((-1, -1, -1), (1, 1, 1)), pose_matrices(c, yaw[idx], s))
        glass = np.array([0.05, 0.07, 0.09]) + rng.uniform(0, 0.05, (len(idx) * 12, 1))
        mesh.add(bands, glass, labels.BUILDINGS, PAINT_WINDOW, np.repeat(ids[idx], 12))
    return mesh


def trees(edges: list[Edge], grid: Grid, rng: np.random.Generator) -> MeshBuilder:
    """Trees on the outer side of sidewalks and scattered in open terrain (parks)."""
    spots = []
    for edge in edges:
        for i in range(int(rng.integers(0, 8)), len(edge.points), int(TREE_EVERY_M)):
            if rng.random() < 0.6:
                spots.append(edge.points[i] - edge.outward[i] * 0.9)
    lo, hi = grid.extent()
    park = np.column_stack(
        [
            rng.uniform(lo[0], hi[0], PARK_TREES),
            rng.uniform(lo[1], hi[1], PARK_TREES),
            np.zeros(PARK_TREES),
        ]
    )
    free = ~grid.occupied[grid.cells(park)]
    pts = np.concatenate([np.array(spots).reshape(-1, 3), park[free]])
    return _tree_mesh(pts, grid, rng, len(spots))


def _tree_mesh(pts: F64, grid: Grid, rng: np.random.Generator, on_walk: int) -> MeshBuilder:
    mesh = MeshBuilder()
    n = len(pts)
    if n == 0:
        return mesh
    ground = pts[:, 2].copy()
    ground[on_walk:] = _terrain_height(pts[on_walk:], pts[:on_walk])
    height = rng.uniform(3.0, 6.0, n)
    crown = rng.uniform(1.6, 3.2, n)
    trunk = np.stack([pts[:, 0], pts[:, 1], ground], 1)
    trunk_m = pose_matrices(
        trunk, np.zeros(n), np.stack([np.full(n, 0.16), np.full(n, 0.16), height], 1)
    )
    ids = mesh.new_objects(n)  # one instance per tree: trunk and crown
    cylinder = shapes.cylinder((0, 0), 0, 1, 1)
    mesh.add(
        transform_unit(cylinder, trunk_m),
        labels.ALBEDO["trunk"],
        labels.VEGETATION,
        objects=np.repeat(ids, len(cylinder)),
    )
    c = trunk + np.stack([np.zeros(n), np.zeros(n), height + crown * 0.5], 1)
    s = np.stack([crown, crown, crown * 1.2], 1)
    tint = np.array(labels.ALBEDO["foliage"]) * rng.uniform(0.7, 1.4, (n, 1))
    blob = unit_blob()
    mesh.add(
        transform_unit(blob, pose_matrices(c, rng.uniform(0, 6.3, n), s)),
        np.repeat(tint, len(blob), axis=0),
        labels.VEGETATION,
        objects=np.repeat(ids, len(blob)),
    )
    return mesh


def _terrain_height(pts: F64, known: F64) -> F64:
    """Height of scattered points: that of the nearest known sidewalk point."""
    if len(known) == 0 or len(pts) == 0:
        return np.zeros(len(pts))
    ref = known[:: max(len(known) // 2000, 1)]
    d = ((pts[:, None, :2] - ref[None, :, :2]) ** 2).sum(-1)
    return np.asarray(ref[d.argmin(axis=1), 2] - KERB_M - 0.1)


def street_lamps(edges: list[Edge], lanes: list[LaneSamples]) -> MeshBuilder:
    """Lamps at the kerb every so often, arms over the road (tag Poles)."""
    rows = []
    for lane in lanes:
        if lane.lane_type != "Sidewalk":
            continue
        left, _right = lane.edges(KERB_M)
        _c, r, _w = lane.arrays()
        for i in range(5, len(left), int(LAMP_EVERY_M)):
            yaw = np.arctan2(r[i][1], r[i][0]) - np.pi / 2
            rows.append((*(left[i] + r[i] * 0.4), yaw))
    mesh = MeshBuilder()
    if rows:
        arr = np.array(rows)
        mats = pose_matrices(arr[:, :3], arr[:, 3], np.ones((len(arr), 3)))
        mesh.place(shapes.street_lamp(), mats, numbered=True)
    return mesh
