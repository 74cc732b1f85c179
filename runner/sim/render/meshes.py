"""Triangle soups as numpy arrays: the unit shapes and the builder the scene is made of.

Everything is flat-shaded, non-indexed triangles; a vertex is 12 float32:
position (3), normal (3), albedo (3), semantic tag, paint code (see PAINT_*) and the
instance id of the static object it belongs to (0: ground surfaces, unit shapes).

Static objects (a building, a tree, a lamp, a sign) are numbered 1..n in build order
(`new_objects`), so the same map always gives the same numbers; `static_instance_ids`
turns number k into instance id 0xFFFF - (k - 1), counting down from the top of the
16-bit range while actor ids count up from 1, so the two meet only past ~65k objects.
Building with whole-array operations keeps a town's scene build in the seconds range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
F64 = NDArray[np.float64]

VERTEX_FLOATS = 12
STATIC_ID_TOP = 0xFFFF
PAINT_VERTEX = 0.0  # albedo from the vertex
PAINT_INSTANCE = 1.0  # albedo from the instance colour (vehicle paint)
PAINT_LAMP_RED = 2.0  # traffic-light lamps: lit when the instance state matches
PAINT_LAMP_YELLOW = 3.0
PAINT_LAMP_GREEN = 4.0
PAINT_GLOW = 5.0  # street-lamp bulbs: emissive at night
PAINT_WINDOW = 6.0  # window bands: some lit at night


@dataclass
class MeshBuilder:
    """Accumulates triangles (T, 3, 3) with per-triangle albedo, tag, paint and object."""

    _tris: list[F64] = field(default_factory=list)
    _colors: list[F64] = field(default_factory=list)
    _tags: list[NDArray[np.float64]] = field(default_factory=list)
    _paints: list[NDArray[np.float64]] = field(default_factory=list)
    _objects: list[NDArray[np.float64]] = field(default_factory=list)
    object_count: int = 0

    def new_objects(self, n: int) -> NDArray[np.float64]:
        """Numbers for `n` new static objects of this builder (1-based, in order)."""
        first = self.object_count + 1
        self.object_count += n
        return np.arange(first, first + n, dtype=np.float64)

    def add(
        self,
        tris: F64,
        color: tuple[float, float, float] | F64,
        tag: int,
        paint: float = PAINT_VERTEX,
        objects: float | NDArray[np.float64] = 0.0,
    ) -> None:
        """Add triangles; `color` is one RGB or one per triangle, `objects` one or per triangle."""
        tris = np.asarray(tris, dtype=np.float64).reshape(-1, 3, 3)
        if len(tris) == 0:
            return
        colors = np.broadcast_to(np.asarray(color, dtype=np.float64), (len(tris), 3))
        self._tris.append(tris)
        self._colors.append(np.array(colors))
        self._tags.append(np.full(len(tris), float(tag)))
        self._paints.append(np.full(len(tris), float(paint)))
        self._objects.append(np.array(np.broadcast_to(objects, (len(tris),)), dtype=np.float64))

    def extend(self, other: MeshBuilder) -> None:
        """Append another builder's triangles; its objects are numbered after ours."""
        offset = float(self.object_count)
        self._tris += other._tris
        self._colors += other._colors
        self._tags += other._tags
        self._paints += other._paints
        self._objects += [np.where(o > 0, o + offset, 0.0) for o in other._objects]
        self.object_count += other.object_count

    def place(self, unit: MeshBuilder, matrices: F64, *, numbered: bool = False) -> None:
        """Instance a local-frame shape at N poses, keeping each part's colour and tag.

        `numbered`: each placement is a new static object (its own instance id).
        """
        n = len(matrices)
        ids = self.new_objects(n) if numbered else np.zeros(n)
        parts = zip(unit._tris, unit._colors, unit._tags, unit._paints, strict=True)
        for tris, color, tag, paint in parts:
            placed = transform_unit(tris, matrices)
            objects = np.repeat(ids, len(tris))
            self.add(placed, np.tile(color, (n, 1)), int(tag[0]), float(paint[0]), objects)

    def triangles(self) -> F64:
        return np.concatenate(self._tris) if self._tris else np.zeros((0, 3, 3))

    def vertices(self) -> FloatArray:
        """Interleaved (3T, 12) float32 vertex array."""
        if not self._tris:
            return np.zeros((0, VERTEX_FLOATS), dtype=np.float32)
        tris = np.concatenate(self._tris)
        out = np.empty((len(tris), 3, VERTEX_FLOATS), dtype=np.float32)
        out[:, :, 0:3] = tris
        out[:, :, 3:6] = face_normals(tris)[:, None, :]
        out[:, :, 6:9] = np.concatenate(self._colors)[:, None, :]
        out[:, :, 9] = np.concatenate(self._tags)[:, None]
        out[:, :, 10] = np.concatenate(self._paints)[:, None]
        out[:, :, 11] = static_instance_ids(np.concatenate(self._objects))[:, None]
        return out.reshape(-1, VERTEX_FLOATS)


def static_instance_ids(objects: NDArray[np.float64]) -> NDArray[np.float64]:
    """Instance id of static object number k: 0xFFFF - (k - 1); 0 stays 0 (no object)."""
    k = objects.astype(np.int64)
    ids = STATIC_ID_TOP - (k - 1) % STATIC_ID_TOP
    return np.where(k > 0, ids, 0).astype(np.float64)


def face_normals(tris: F64) -> F64:
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.asarray(n / np.maximum(length, 1e-12))


def strip(left: F64, right: F64) -> F64:
    """Triangles of a ribbon through matching (N, 3) left/right edge points."""
    a, b, c, d = left[:-1], right[:-1], left[1:], right[1:]
    first = np.stack([a, b, c], axis=1)
    second = np.stack([b, d, c], axis=1)
    return np.concatenate([first, second])


def walls(bottom: F64, top: F64) -> F64:
    """A vertical ribbon (kerb face) between a bottom and a top polyline."""
    return strip(bottom, top)


def transform_unit(unit: F64, matrices: F64) -> F64:
    """Place a unit mesh (T, 3, 3) with N 4x4 matrices → (N*T, 3, 3)."""
    moved = np.einsum("nij,tbj->ntbi", matrices[:, :3, :3], unit)
    moved = moved + matrices[:, None, None, :3, 3]
    return np.asarray(moved.reshape(-1, 3, 3))


def unit_box() -> F64:
    """Cube [-1, 1]^3 as 12 outward-wound triangles."""
    c = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    tris = []
    for a, b, cc, d in quads:
        tris += [(c[a], c[b], c[cc]), (c[a], c[cc], c[d])]
    return np.array(tris)


def unit_cylinder(segments: int = 8, top_scale: float = 1.0) -> F64:
    """Radius-1 prism (or frustum) from z=0 to z=1, with caps."""
    ang = np.linspace(0.0, 2 * np.pi, segments + 1)
    ring0 = np.stack([np.cos(ang), np.sin(ang), np.zeros_like(ang)], axis=1)
    ring1 = ring0 * [top_scale, top_scale, 1.0] + [0.0, 0.0, 1.0]
    side = strip(ring0, ring1)
    c0, c1 = np.zeros(3), np.array([0.0, 0.0, 1.0])
    cap0 = np.stack([np.broadcast_to(c0, ring0[:-1].shape), ring0[1:], ring0[:-1]], axis=1)
    cap1 = np.stack([np.broadcast_to(c1, ring1[:-1].shape), ring1[:-1], ring1[1:]], axis=1)
    return np.concatenate([side, cap0, cap1])


def unit_blob() -> F64:
    """Low-poly sphere of radius 1 (subdivided octahedron): tree crowns, heads."""
    v = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    faces = [(0, 2, 4), (2, 1, 4), (1, 3, 4), (3, 0, 4), (2, 0, 5), (1, 2, 5), (3, 1, 5), (0, 3, 5)]
    tris = np.array([[v[a], v[b], v[c]] for a, b, c in faces])
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    ab, bc, ca = (a + b) / 2, (b + c) / 2, (c + a) / 2
    sub = np.concatenate(
        [np.stack(t, axis=1) for t in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))]
    )
    return np.asarray(sub / np.linalg.norm(sub, axis=2, keepdims=True))


def pose_matrices(centers: F64, yaw_rad: F64, scales: F64, pitch_rad: F64 | None = None) -> F64:
    """N 4x4 matrices: scale (N, 3), then yaw (and optional pitch) about z, then translate."""
    n = len(centers)
    cy, sy = np.cos(yaw_rad), np.sin(yaw_rad)
    m = np.zeros((n, 4, 4))
    rot = np.zeros((n, 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = cy, -sy, sy, cy
    rot[:, 2, 2] = 1.0
    if pitch_rad is not None:
        cp, sp = np.cos(pitch_rad), np.sin(pitch_rad)
        ry = np.zeros((n, 3, 3))
        ry[:, 0, 0], ry[:, 0, 2], ry[:, 2, 0], ry[:, 2, 2], ry[:, 1, 1] = cp, -sp, sp, cp, 1.0
        rot = rot @ ry
    m[:, :3, :3] = rot * scales[:, None, :]
    m[:, :3, 3] = centers
    m[:, 3, 3] = 1.0
    return m
