"""Contacts between actor boxes: bounding-circle broad phase, 2-D SAT narrow phase.

Boxes are the actors' bounding boxes turned by yaw only (vehicles on roads rarely pitch
enough to matter), plus an overlap test of their z intervals. Impulses are estimates:
closing speed along the contact normal times the reduced mass, in N·s as CARLA reports.
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.geometry import BoundingBox, Transform, Vec3

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
SOLID_KINDS = (ActorKind.VEHICLE, ActorKind.WALKER, ActorKind.PROP)  # a tuple: `in` by identity
SPAWN_TOLERANCE_M = 0.02  # penetrations shallower than this do not block a spawn
_MASS_KG = {
    "car": 1500.0,
    "van": 2500.0,
    "truck": 8000.0,
    "bus": 12000.0,
    "motorcycle": 250.0,
    "bicycle": 90.0,
}


@dataclass(frozen=True, slots=True)
class Contact:
    """One touching pair per frame (actor_id < other_id); impulse acts on `actor_id`."""

    actor_id: int
    other_id: int
    normal_impulse: Vec3


@dataclass(frozen=True, slots=True)
class _Box:
    cx: float
    cy: float
    z_lo: float
    z_hi: float
    ux: float  # unit forward (x, y)
    uy: float
    hx: float  # half length, half width
    hy: float


def mass_kg(actor: Actor) -> float:
    """Rough mass from the blueprint type; enough for plausible impulses."""
    if actor.kind == ActorKind.WALKER:
        return 80.0
    if actor.kind == ActorKind.VEHICLE:
        return _MASS_KG.get(actor.attribute("base_type").lower(), 1500.0)
    e = actor.bounding_box.extent
    return max(5.0, 8.0 * 200.0 * e[0] * e[1] * e[2])  # props: light, dense-ish stuff


def find_contacts(actors: Sequence[Actor]) -> list[Contact]:
    """All touching pairs of solid actors, each unordered pair once, ordered by index pair."""
    solid = [a for a in actors if a.kind in SOLID_KINDS and a.collisions_enabled]
    n = len(solid)
    if n < 2:
        return []
    pose = _poses(solid)
    shapes = _shapes_of(solid)
    yaw = np.radians(pose[:, 3])  # trig in numpy, so boxes stay bit-identical to `_box`
    ux, uy = np.cos(yaw), np.sin(yaw)
    capacity = 4 * n
    while True:
        pairs = np.empty((capacity, 2), np.int64)
        normals = np.empty((capacity, 2), np.float64)
        found = _contacts_kernel(
            pose, ux, uy, shapes.data, shapes.radius, shapes.reach_m, pairs, normals
        )
        if found <= capacity:
            break
        capacity = found
    contacts = []
    for (p, q), (ax, ay) in zip(pairs[:found].tolist(), normals[:found].tolist(), strict=True):
        a, b = solid[p], solid[q]
        if a.parent_id == b.id or b.parent_id == a.id:
            continue
        first, second = (a, b) if a.id < b.id else (b, a)
        normal = (ax, ay) if first is a else (-ax, -ay)
        contacts.append(Contact(first.id, second.id, _impulse(first, second, normal)))
    return contacts


def box_overlaps(transform: Transform, bbox: BoundingBox, others: Iterable[Actor]) -> bool:
    """Whether a box placed at `transform` would overlap a solid actor (spawn check)."""
    probe = _box(transform, bbox)
    reach = math.hypot(probe.hx, probe.hy)
    for other in others:
        if other.kind not in SOLID_KINDS or not other.collisions_enabled:
            continue
        box = _box(other.transform, other.bounding_box)
        if math.hypot(box.cx - probe.cx, box.cy - probe.cy) > reach + math.hypot(box.hx, box.hy):
            continue
        if _separating_depth(probe, box, SPAWN_TOLERANCE_M) is not None:
            return True
    return False


def _box(t: Transform, bbox: BoundingBox) -> _Box:
    yaw = math.radians(t.yaw)
    ux, uy = math.cos(yaw), math.sin(yaw)
    c = bbox.center
    cx = t.x + c[0] * ux - c[1] * uy
    cy = t.y + c[0] * uy + c[1] * ux
    cz = t.z + c[2]
    e = bbox.extent
    return _Box(cx, cy, cz - e[2], cz + e[2], ux, uy, e[0], e[1])


_POSE_PACKERS: dict[int, struct.Struct] = {}  # actor count -> "<{4n}d"


def _poses(solid: Sequence[Actor]) -> FloatArray:
    """(n, 4) x, y, z, yaw: one flat list packed by one Struct (the cheapest unboxing)."""
    values: list[float] = []
    add = values.extend
    for a in solid:
        t = a.transform
        add((t.x, t.y, t.z, t.yaw))
    n = len(solid)
    packer = _POSE_PACKERS.get(n)
    if packer is None:
        if len(_POSE_PACKERS) > 64:
            _POSE_PACKERS.clear()
        packer = _POSE_PACKERS[n] = struct.Struct(f"<{4 * n}d")
    return np.frombuffer(packer.pack(*values), np.float64).reshape(n, 4)


@dataclass(frozen=True, slots=True)
class _Shapes:
    """Bounding boxes of the solid actors as arrays, kept while the same boxes come back.

    `BoundingBox` is frozen and held here, so the same objects mean the same values: a
    step of moving cars rereads no box.
    """

    boxes: list[BoundingBox]
    data: FloatArray  # (n, 6): centre x, y, z, extent x, y, z
    radius: FloatArray  # bounding-circle radius in the xy plane
    reach_m: float  # the largest radius


_last_shapes: list[_Shapes] = []


def _shapes_of(solid: Sequence[Actor]) -> _Shapes:
    boxes = [a.bounding_box for a in solid]
    if _last_shapes:
        last = _last_shapes[0]
        if len(last.boxes) == len(boxes) and all(map(operator.is_, boxes, last.boxes)):
            return last
    data = np.array([(*b.center, *b.extent) for b in boxes], np.float64).reshape(len(boxes), 6)
    radius = np.hypot(data[:, 3], data[:, 4])
    shapes = _Shapes(boxes, data, radius, float(radius.max()))
    _last_shapes[:] = [shapes]
    return shapes


@numba.njit(cache=True, nogil=True)
def _contacts_kernel(
    pose: FloatArray,
    ux: FloatArray,
    uy: FloatArray,
    shape: FloatArray,
    radius: FloatArray,
    reach_m: float,
    pairs: IntArray,
    normals: FloatArray,
) -> int:
    """Broad and narrow phase compiled; returns how many pairs touch.

    Writes the first len(pairs) touching pairs (i < j, sorted by (i, j)) and their unit
    normals i -> j; a larger count asks the caller for room. The arithmetic is that of
    `_box` and `_separating_depth` (tolerance 0) term by term, so results match them bit
    for bit. Broad phase: sort by centre x, sweep each box over those within its radius
    plus the largest, then test bounding circles.
    """
    n = pose.shape[0]
    cx = np.empty(n)
    cy = np.empty(n)
    z_lo = np.empty(n)
    z_hi = np.empty(n)
    for r in range(n):
        cx[r] = pose[r, 0] + shape[r, 0] * ux[r] - shape[r, 1] * uy[r]
        cy[r] = pose[r, 1] + shape[r, 0] * uy[r] + shape[r, 1] * ux[r]
        cz = pose[r, 2] + shape[r, 2]
        z_lo[r] = cz - shape[r, 5]
        z_hi[r] = cz + shape[r, 5]
    order = np.argsort(cx, kind="mergesort")
    capacity = pairs.shape[0]
    keys = np.empty(capacity, np.int64)
    found = 0
    depth = np.empty(4)
    along = np.empty(4)
    axes = np.empty((4, 2))
    for m in range(n):
        p = order[m]
        limit = cx[p] + radius[p] + reach_m
        for s in range(m + 1, n):
            q = order[s]
            if cx[q] > limit:
                break
            dx = cx[p] - cx[q]
            dy = cy[p] - cy[q]
            reach = radius[p] + radius[q]
            if not dx * dx + dy * dy <= reach * reach:
                continue
            i, j = min(p, q), max(p, q)
            if z_hi[i] < z_lo[j] - 1e-9 or z_hi[j] < z_lo[i] - 1e-9:
                continue
            dx = cx[j] - cx[i]
            dy = cy[j] - cy[i]
            axes[0, 0], axes[0, 1] = ux[i], uy[i]
            axes[1, 0], axes[1, 1] = -uy[i], ux[i]
            axes[2, 0], axes[2, 1] = ux[j], uy[j]
            axes[3, 0], axes[3, 1] = -uy[j], ux[j]
            touching = True
            for k in range(4):
                ax, ay = axes[k, 0], axes[k, 1]
                along[k] = dx * ax + dy * ay
                half_i = shape[i, 3] * abs(ux[i] * ax + uy[i] * ay) + shape[i, 4] * abs(
                    -uy[i] * ax + ux[i] * ay
                )
                half_j = shape[j, 3] * abs(ux[j] * ax + uy[j] * ay) + shape[j, 4] * abs(
                    -uy[j] * ax + ux[j] * ay
                )
                depth[k] = half_i + half_j - abs(along[k])
                if not depth[k] >= -1e-9:
                    touching = False
                    break
            if not touching:
                continue
            best = 0
            for k in range(1, 4):
                if depth[k] < depth[best]:
                    best = k
            if found < capacity:
                sign = 1.0 if along[best] >= 0.0 else -1.0
                keys[found] = i * n + j
                pairs[found, 0], pairs[found, 1] = i, j
                normals[found, 0] = sign * axes[best, 0]
                normals[found, 1] = sign * axes[best, 1]
            found += 1
    if found <= capacity and found > 1:
        rank = np.argsort(keys[:found], kind="mergesort")
        sorted_pairs = pairs[:found][rank]
        sorted_normals = normals[:found][rank]
        pairs[:found] = sorted_pairs
        normals[:found] = sorted_normals
    return found


def _separating_depth(a: _Box, b: _Box, tolerance_m: float) -> tuple[float, float] | None:
    """Unit normal (from a to b) of least penetration, or None if separated.

    Touching counts as contact; penetrations up to `tolerance_m` are ignored.
    """
    if a.z_hi < b.z_lo - 1e-9 or b.z_hi < a.z_lo - 1e-9:
        return None
    if min(a.z_hi, b.z_hi) - max(a.z_lo, b.z_lo) < tolerance_m and tolerance_m > 0.0:
        return None
    dx, dy = b.cx - a.cx, b.cy - a.cy
    best: tuple[float, float, float] | None = None
    for ax, ay in ((a.ux, a.uy), (-a.uy, a.ux), (b.ux, b.uy), (-b.uy, b.ux)):
        depth = _project(a, ax, ay) + _project(b, ax, ay) - abs(dx * ax + dy * ay)
        if depth < tolerance_m - 1e-9:
            return None
        if best is None or depth < best[0]:
            sign = 1.0 if dx * ax + dy * ay >= 0.0 else -1.0
            best = (depth, sign * ax, sign * ay)
    assert best is not None
    return (best[1], best[2])


def _project(box: _Box, ax: float, ay: float) -> float:
    """Half extent of `box` along the unit axis (ax, ay)."""
    along = abs(box.ux * ax + box.uy * ay)
    across = abs(-box.uy * ax + box.ux * ay)
    return box.hx * along + box.hy * across


def _impulse(a: Actor, b: Actor, normal: tuple[float, float]) -> Vec3:
    """Impulse on `a` [N·s]: reduced mass times closing speed along the normal (a -> b)."""
    closing = (a.velocity[0] - b.velocity[0]) * normal[0] + (
        a.velocity[1] - b.velocity[1]
    ) * normal[1]
    ma, mb = mass_kg(a), mass_kg(b)
    magnitude = max(0.0, closing) * ma * mb / (ma + mb)
    return (-magnitude * normal[0], -magnitude * normal[1], 0.0)
