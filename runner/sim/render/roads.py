"""Road surfaces, lane markings, raised sidewalks and crosswalks from sampled lanes."""

from __future__ import annotations

from typing import Any

import numpy as np

from runner.sim.render import labels
from runner.sim.render.lanes import F64, LaneSamples
from runner.sim.render.meshes import MeshBuilder, strip, walls

KERB_M = 0.15  # sidewalk height above the road
LINE_LIFT_M = 0.02  # markings float this much above the asphalt
LINE_HALF_WIDTH_M = 0.06
DASH_M = 3.0  # broken lines: 3 m painted, 3 m gap
DOUBLE_GAP_M = 0.12

# marking type -> ((lateral offset sign, broken?), ...); offsets are multiples of the gap
_LINES: dict[str, tuple[tuple[float, bool], ...]] = {
    "Solid": ((0.0, False),),
    "Broken": ((0.0, True),),
    "SolidSolid": ((-1.0, False), (1.0, False)),
    "SolidBroken": ((-1.0, False), (1.0, True)),
    "BrokenSolid": ((-1.0, True), (1.0, False)),
    "BrokenBroken": ((-1.0, True), (1.0, True)),
    "BottsDots": ((0.0, True),),
}
_FLUSH_TYPES = {"Shoulder", "Parking", "Biking", "Bidirectional", "Stop", "Border", "Median"}


def build_roads(lanes: list[LaneSamples]) -> MeshBuilder:
    """Asphalt for driving and flush lanes, raised sidewalks with kerbs, markings."""
    mesh = MeshBuilder()
    for lane in lanes:
        if lane.lane_type == "Driving":
            left, right = lane.edges()
            mesh.add(strip(left, right), labels.ALBEDO["road"], labels.ROADS)
            _add_markings(mesh, lane)
        elif lane.lane_type == "Sidewalk":
            _add_sidewalk(mesh, lane)
        elif lane.lane_type in _FLUSH_TYPES:
            left, right = lane.edges(0.005)
            mesh.add(strip(left, right), labels.ALBEDO["shoulder"], labels.ROADS)
    return mesh


def _add_sidewalk(mesh: MeshBuilder, lane: LaneSamples) -> None:
    left, right = lane.edges()
    up = np.array([0.0, 0.0, KERB_M])
    color = labels.ALBEDO["sidewalk"]
    mesh.add(strip(left + up, right + up), color, labels.SIDEWALKS)
    mesh.add(walls(left, left + up), labels.ALBEDO["kerb"], labels.SIDEWALKS)
    mesh.add(walls(right, right + up), labels.ALBEDO["kerb"], labels.SIDEWALKS)


def _line_color(color: str) -> tuple[float, float, float]:
    return labels.ALBEDO["line_yellow" if color == "Yellow" else "line_white"]


def _add_markings(mesh: MeshBuilder, lane: LaneSamples) -> None:
    centers, rights, widths = lane.arrays()
    s = np.array(lane.s)
    junction = np.array(lane.junction)
    for side, marks in ((-1.0, lane.left_marks), (1.0, lane.right_marks)):
        edge = centers + rights * (side * widths / 2)[:, None] + [0.0, 0.0, LINE_LIFT_M]
        drawn = ~junction[:-1] & ~junction[1:]
        if side < 0:
            drawn &= np.array(lane.draw_left[:-1])
        types = np.array([m[0] for m in marks[:-1]])
        colors = [m[1] for m in marks[:-1]]
        for kind, lines in _LINES.items():
            seg = drawn & (types == kind)
            if seg.any():
                _add_lines(mesh, edge, rights, s, seg, lines, colors)


def _add_lines(
    mesh: MeshBuilder,
    edge: F64,
    rights: F64,
    s: F64,
    seg: Any,
    lines: tuple[tuple[float, bool], ...],
    colors: list[str],
) -> None:
    """Quads for the chosen segments of one marking type, each line offset sideways."""
    idx = np.flatnonzero(seg)
    seg_colors = np.array([_line_color(colors[i]) for i in idx])
    for offset, broken in lines:
        keep = idx
        col = seg_colors
        if broken:
            on = np.floor(s[idx] / DASH_M).astype(int) % 2 == 0
            keep, col = idx[on], seg_colors[on]
        if len(keep) == 0:
            continue
        o = offset * DOUBLE_GAP_M
        a0, a1 = edge[keep], edge[keep + 1]
        r0, r1 = rights[keep], rights[keep + 1]
        hw = LINE_HALF_WIDTH_M
        quad = [a0 + r0 * (o - hw), a0 + r0 * (o + hw), a1 + r1 * (o - hw), a1 + r1 * (o + hw)]
        tris = np.concatenate(
            [np.stack([quad[0], quad[1], quad[2]], 1), np.stack([quad[1], quad[3], quad[2]], 1)]
        )
        mesh.add(tris, np.concatenate([col, col]), labels.ROAD_LINES)


def build_crosswalks(carla_map: Any) -> MeshBuilder:
    """Zebra stripes inside each crosswalk polygon (closed rings of points)."""
    mesh = MeshBuilder()
    points = [(p.x, p.y, p.z) for p in carla_map.get_crosswalks()]
    ring: list[tuple[float, float, float]] = []
    for p in points:
        ring.append(p)
        if len(ring) > 1 and np.allclose(ring[0], p):
            if len(ring) == 5:
                _add_zebra(mesh, carla_map, np.array(ring[:4]))
            ring = []
    return mesh


def _add_zebra(mesh: MeshBuilder, carla_map: Any, quad: F64) -> None:
    import carla

    mid = quad.mean(axis=0)
    wp = carla_map.get_waypoint(carla.Location(float(mid[0]), float(mid[1]), float(mid[2])))
    if wp is None or wp.transform.location.distance(carla.Location(*map(float, mid))) > 8.0:
        return
    quad = quad.copy()
    quad[:, 2] = wp.transform.location.z + LINE_LIFT_M
    p0, p1, p2, p3 = quad
    if np.linalg.norm(p1 - p0) < np.linalg.norm(p3 - p0):
        p0, p1, p2, p3 = p1, p2, p3, p0
    length = float(np.linalg.norm(p1 - p0))
    starts = np.arange(0.25, max(length - 0.5, 0.25), 1.0) / length
    ends = np.minimum(starts + 0.5 / length, 1.0)
    a0, b0 = p0 + np.outer(starts, p1 - p0), p3 + np.outer(starts, p2 - p3)
    a1, b1 = p0 + np.outer(ends, p1 - p0), p3 + np.outer(ends, p2 - p3)
    tris = np.concatenate([np.stack([a0, b0, a1], 1), np.stack([b0, b1, a1], 1)])
    mesh.add(tris, labels.ALBEDO["crosswalk"], labels.ROAD_LINES)
