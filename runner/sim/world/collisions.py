"""Contacts between actor boxes: numpy bounding-circle broad phase, 2-D SAT narrow phase.

Boxes are the actors' bounding boxes turned by yaw only (vehicles on roads rarely pitch
enough to matter), plus an overlap test of their z intervals. Impulses are estimates:
closing speed along the contact normal times the reduced mass, in N·s as CARLA reports.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.geometry import BoundingBox, Transform, Vec3

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
SOLID_KINDS = frozenset({ActorKind.VEHICLE, ActorKind.WALKER, ActorKind.PROP})
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
    """All touching pairs of solid actors, each unordered pair once."""
    solid = [a for a in actors if a.kind in SOLID_KINDS and a.collisions_enabled]
    if len(solid) < 2:
        return []
    boxes = _Boxes.of(solid)
    i, j = _candidate_pairs(boxes)
    touching, nx, ny = _separating_axes(boxes, i, j)
    contacts = []
    for p, q, ax, ay in zip(
        i[touching].tolist(),
        j[touching].tolist(),
        nx[touching].tolist(),
        ny[touching].tolist(),
        strict=True,
    ):
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


@dataclass(frozen=True, slots=True)
class _Boxes:
    """`_Box` of every actor as columns (yaw-only boxes, as `_box`)."""

    cx: FloatArray
    cy: FloatArray
    z_lo: FloatArray
    z_hi: FloatArray
    ux: FloatArray
    uy: FloatArray
    hx: FloatArray
    hy: FloatArray

    @classmethod
    def of(cls, actors: Sequence[Actor]) -> _Boxes:
        values = itertools.chain.from_iterable(
            (
                a.transform.x,
                a.transform.y,
                a.transform.z,
                a.transform.yaw,
                *a.bounding_box.center,
                *a.bounding_box.extent,
            )
            for a in actors
        )
        data = np.fromiter(values, np.float64, 10 * len(actors)).reshape(len(actors), 10)
        yaw = np.radians(data[:, 3])
        ux, uy = np.cos(yaw), np.sin(yaw)
        cz = data[:, 2] + data[:, 6]
        return cls(
            cx=data[:, 0] + data[:, 4] * ux - data[:, 5] * uy,
            cy=data[:, 1] + data[:, 4] * uy + data[:, 5] * ux,
            z_lo=cz - data[:, 9],
            z_hi=cz + data[:, 9],
            ux=ux,
            uy=uy,
            hx=data[:, 7],
            hy=data[:, 8],
        )


def _candidate_pairs(boxes: _Boxes) -> tuple[IntArray, IntArray]:
    """Pairs whose bounding circles overlap (i < j, sorted): sort and sweep along x.

    Each box is sorted by its centre's x; a box can only meet those whose x lies within
    the sum of the two radii, at most its own radius plus the largest one.
    """
    cx, cy = boxes.cx, boxes.cy
    radius = np.hypot(boxes.hx, boxes.hy)
    order = np.argsort(cx, kind="stable")
    sx = cx[order]
    hi = np.searchsorted(sx, sx + radius[order] + radius.max(), side="right")
    lo = np.arange(1, len(sx) + 1)
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    none = np.zeros(0, np.int64)
    if total == 0:
        return none, none
    first = np.repeat(np.arange(len(sx)), counts)
    second = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + lo[first]
    i, j = order[first], order[second]
    dx, dy = cx[i] - cx[j], cy[i] - cy[j]
    reach = radius[i] + radius[j]
    near = dx * dx + dy * dy <= reach * reach
    i, j = np.minimum(i[near], j[near]), np.maximum(i[near], j[near])
    if len(i) == 0:
        return none, none
    key = np.unique(i * len(cx) + j)  # sorted by (i, j), each pair once
    return key // len(cx), key % len(cx)


def _separating_axes(
    boxes: _Boxes, i: IntArray, j: IntArray
) -> tuple[BoolArray, FloatArray, FloatArray]:
    """`_separating_depth(box i, box j, 0.0)` for every pair: touching, unit normal i -> j."""
    b = boxes
    z_apart = (b.z_hi[i] < b.z_lo[j] - 1e-9) | (b.z_hi[j] < b.z_lo[i] - 1e-9)
    dx, dy = b.cx[j] - b.cx[i], b.cy[j] - b.cy[i]
    axes = (
        (b.ux[i], b.uy[i]),
        (-b.uy[i], b.ux[i]),
        (b.ux[j], b.uy[j]),
        (-b.uy[j], b.ux[j]),
    )
    depth = np.empty((4, len(i)))
    along = np.empty((4, len(i)))
    for k, (ax, ay) in enumerate(axes):
        along[k] = dx * ax + dy * ay
        depth[k] = _projections(b, i, ax, ay) + _projections(b, j, ax, ay) - np.abs(along[k])
    touching = ~z_apart & (depth >= -1e-9).all(axis=0)
    k = np.argmin(depth, axis=0)  # the first axis of least penetration, as the scalar test
    ax = np.choose(k, [a[0] for a in axes])
    ay = np.choose(k, [a[1] for a in axes])
    sign = np.where(np.take_along_axis(along, k[None, :], axis=0)[0] >= 0.0, 1.0, -1.0)
    return touching, sign * ax, sign * ay


def _projections(b: _Boxes, rows: IntArray, ax: FloatArray, ay: FloatArray) -> FloatArray:
    """Half extents of boxes `rows` along the unit axes (ax, ay)."""
    ux, uy = b.ux[rows], b.uy[rows]
    return b.hx[rows] * np.abs(ux * ax + uy * ay) + b.hy[rows] * np.abs(-uy * ax + ux * ay)


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
