"""The static scene of a map: every triangle that never moves, built once per map.

Triangles are sorted into square tiles so the renderer can skip whole tiles that lie
outside a camera's frustum; each tile is one contiguous range of the vertex buffer.
Static traffic lights are a separate group: they are drawn only when the world has
no traffic-light actors of its own (those replace them, lit by their state).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from runner.sim.render import dressing, ground, landmarks, roads
from runner.sim.render.lanes import sample_lanes
from runner.sim.render.meshes import VERTEX_FLOATS, FloatArray, MeshBuilder

TILE_M = 64.0
# Draw order inside a tile, so early depth testing rejects what lies underneath:
# markings before asphalt, asphalt before the terrain under it, terrain last.
_DRAW_RANK = np.full(256, 5, dtype=np.int64)
_DRAW_RANK[[24, 2, 1, 3, 10]] = [0, 1, 2, 3, 9]


@dataclass(frozen=True)
class TiledMesh:
    """Vertices (V, 12) grouped by tile: tile i is vertices[first[i] : first[i] + count[i]]."""

    vertices: FloatArray
    first: NDArray[np.int64]
    count: NDArray[np.int64]
    lo: NDArray[np.float64]  # (tiles, 3) bounding box corners
    hi: NDArray[np.float64]

    @staticmethod
    def from_mesh(mesh: MeshBuilder, tile_m: float = TILE_M) -> TiledMesh:
        verts = mesh.vertices().reshape(-1, 3, VERTEX_FLOATS)
        if len(verts) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return TiledMesh(mesh.vertices(), empty, empty, np.zeros((0, 3)), np.zeros((0, 3)))
        centroid = verts[:, :, :2].mean(axis=1)
        cell = np.floor(centroid / tile_m).astype(np.int64)
        rank = _DRAW_RANK[verts[:, 0, 9].astype(np.int64)]
        tile = cell[:, 0] * 100_003 + cell[:, 1]
        key = tile * 16 + rank
        order = np.argsort(key, kind="stable")
        verts, tile = verts[order], tile[order]
        starts = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
        counts = np.diff(np.r_[starts, len(tile)])
        pos = verts[:, :, :3].astype(np.float64)
        lo = np.minimum.reduceat(pos.min(axis=1), starts, axis=0)
        hi = np.maximum.reduceat(pos.max(axis=1), starts, axis=0)
        flat = np.ascontiguousarray(verts.reshape(-1, VERTEX_FLOATS))
        return TiledMesh(flat, starts * 3, counts * 3, lo, hi)

    @property
    def triangle_count(self) -> int:
        return len(self.vertices) // 3


@dataclass(frozen=True)
class StaticScene:
    map_name: str
    world: TiledMesh  # roads, sidewalks, terrain, buildings, vegetation, poles, signs
    traffic_lights: TiledMesh  # housings from landmarks (hidden when actors exist)


def build_scene(carla_map: Any, map_name: str) -> StaticScene:
    """Build the whole static scene; deterministic for a given map and name."""
    rng = np.random.default_rng(dressing.seed_for(map_name))
    lanes = sample_lanes(carla_map)
    paved = ground.lane_area_points(lanes)
    grid = ground.Grid.around(paved, 1.0)
    grid.mark(paved)
    mesh = roads.build_roads(lanes)
    mesh.extend(roads.build_crosswalks(carla_map))
    mesh.extend(ground.terrain(paved, grid))
    edges = dressing.sidewalk_edges(lanes)
    mesh.extend(dressing.street_lamps(edges, lanes))
    mesh.extend(landmarks.build_signs(carla_map))
    mesh.extend(dressing.buildings(edges, grid, rng))
    mesh.extend(dressing.trees(edges, grid, rng))
    lights = MeshBuilder(object_count=mesh.object_count)  # numbered after the world's objects
    lights.extend(landmarks.build_traffic_lights(carla_map))
    return StaticScene(map_name, TiledMesh.from_mesh(mesh), TiledMesh.from_mesh(lights))


CACHED_SCENES = 4
"""Scenes kept for maps loaded again (a sweep alternating towns); older ones are dropped,
so a server cycling through many towns does not keep every town's meshes."""
_CACHE: OrderedDict[str, StaticScene] = OrderedDict()
_LOCK = threading.Lock()


def scene_for(carla_map: Any, map_name: str, key: str | None = None) -> StaticScene:
    """The cached scene of a map (built on first use).

    `key` tells maps of one name apart (every generated OpenDRIVE world is called
    "OpenDriveMap"); without it the name is the key.
    """
    cache_key = key or map_name
    with _LOCK:
        scene = _CACHE.get(cache_key)
        if scene is None:
            scene = build_scene(carla_map, map_name)
            _CACHE[cache_key] = scene
            while len(_CACHE) > CACHED_SCENES:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(cache_key)
        return scene
