"""Where on the road a point is: lane sample, surface, speed limit, light distance.

`carla.Map.get_waypoint` costs ~80 µs a call, far too slow for every vehicle every tick, so
`RoadIndex` samples the driving lanes once (1 m apart) into numpy arrays with a grid for
nearest-sample queries in batch. Each sample carries what CARLA's trigger volumes would tell
a vehicle standing there: the speed-limit sign last passed on that lane and the distance to
the stop line of the traffic light controlling it. The per-tick work (nearest sample and road
plane per point) runs as numba kernels: as chains of small numpy stages it cost several
times as much at 200 vehicles. What each vehicle reports from it is `vehicle_road.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

from runner.sim.world.traffic_lights import LightSpec, StopPoint

SAMPLE_STEP_M = 1.0
SPEED_SIGN_TYPE = "274"
DEFAULT_SPEED_LIMIT_KMH = 30.0  # CARLA's vehicle default until it passes a speed sign
APPROACH_M = 40.0  # how far before a stop line light distances are annotated
CELL_M = 2.0
CELL_REACH = 3  # a sample is listed in cells up to this many cells away (>= 6 m guaranteed)
NARROW_REACH = 1  # the first, cheaper table (2 m guaranteed: a vehicle on its lane)
ROAD_MARGIN_M = 2.5  # beyond the lane edge a point is "off the road"
Z_WEIGHT = 2.0  # prefer the sample on the same level (bridges)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
_DEG_TO_RAD = np.pi / 180.0  # exactly what np.radians multiplies by


@dataclass(frozen=True, slots=True)
class RoadHits:
    """Batched answer of `RoadIndex.query`; `index` is -1 where a point is off the road."""

    index: IntArray
    ground_z: FloatArray
    normal: FloatArray  # (N, 3) unit surface normal (road frame up vector)


class RoadIndex:
    """Driving-lane samples of one map with a grid for nearest-sample lookups."""

    def __init__(self, carla_map: Any, lights: Sequence[LightSpec] = ()) -> None:
        self._map = carla_map
        self._sample(carla_map.generate_waypoints(SAMPLE_STEP_M))
        self._build_grid()
        self.speed_limit_kmh = self._speed_signs(carla_map)
        self.light_slot = np.full(len(self.road), -1, dtype=np.int64)
        self.light_dist_m = np.full(len(self.road), np.inf)
        for slot, spec in enumerate(lights):
            for stop in spec.stops:
                self._annotate_approach(slot, stop)

    def _sample(self, waypoints: Sequence[Any]) -> None:
        rows = [_waypoint_row(wp) for wp in waypoints]
        data = np.array(rows, dtype=np.float64).reshape(-1, 10)
        self.position = np.ascontiguousarray(data[:, 0:3])
        pitch, yaw, roll = (np.radians(data[:, k]) for k in (3, 4, 5))
        self.forward = np.stack([np.cos(yaw), np.sin(yaw)], axis=1)
        self.normal = _up_vectors(pitch, yaw, roll)
        self.road = data[:, 6].astype(np.int64)
        self.lane = data[:, 7].astype(np.int64)
        self.s = data[:, 8]
        self.half_width = data[:, 9] * 0.5

    def _build_grid(self) -> None:
        self._wide = _CellTable(self.position, CELL_REACH)
        self._narrow = _CellTable(self.position, NARROW_REACH)

    def query(self, points: FloatArray) -> RoadHits:
        """Nearest lane sample (and the road plane's z there) for each (x, y, z) row."""
        n = len(points)
        points = np.ascontiguousarray(points, dtype=np.float64)
        index = np.full(n, -1, dtype=np.int64)
        ground_z = points[:, 2].copy() if n else np.zeros(0)
        normal = np.zeros((n, 3))
        normal[:, 2] = 1.0
        if n == 0 or len(self.position) == 0:
            return RoadHits(index, ground_z, normal)
        narrow, wide = self._narrow, self._wide
        _query_kernel(
            narrow.keys,
            narrow.starts,
            narrow.counts,
            narrow.flat,
            wide.keys,
            wide.starts,
            wide.counts,
            wide.flat,
            self.position,
            self.normal,
            self.forward,
            self.half_width,
            points,
            index,
            ground_z,
            normal,
        )
        return RoadHits(index, ground_z, normal)

    def _nearest(self, points: FloatArray) -> tuple[NDArray[np.bool_], IntArray]:
        """Nearest sample per point: the narrow table first, the wide one where it cannot tell.

        The narrow table lists every sample within NARROW_REACH cells, so a nearest sample
        it finds closer than NARROW_REACH * CELL_M is the true nearest; the few points
        farther from any lane (off the road, mid-junction) ask the wide table.
        `_query_kernel` does the same per point; this batched form serves tests and tools.
        """
        found, nearest, d2 = self._narrow.nearest(self.position, points)
        unsure = ~(d2 <= (NARROW_REACH * CELL_M) ** 2)
        if unsure.any():
            rows = np.flatnonzero(unsure)
            f2, n2, _ = self._wide.nearest(self.position, points[rows])
            found[rows], nearest[rows] = f2, n2
        return found, nearest

    def _speed_signs(self, carla_map: Any) -> FloatArray:
        """Per sample: value of the last speed sign passed on its lane, NaN if none."""
        limit = np.full(len(self.road), np.nan)
        passed_at = np.full(len(self.road), np.nan)
        for sign in carla_map.get_all_landmarks_of_type(SPEED_SIGN_TYPE):
            value = float(sign.value)
            if value <= 0.0:
                continue
            on_road = self.road == int(sign.road_id)
            for lo, hi in sign.get_lane_validities():
                lanes = on_road & (self.lane >= min(lo, hi)) & (self.lane <= max(lo, hi))
                # distance driven since the sign: s grows along lanes < 0, shrinks along > 0
                since = np.where(self.lane < 0, self.s - sign.s, sign.s - self.s)
                newer = lanes & (since >= 0.0) & ~(passed_at <= since)
                limit[newer] = value
                passed_at[newer] = since[newer]
        return limit

    def _annotate_approach(self, slot: int, stop: StopPoint) -> None:
        """Distance-to-stop-line on samples of every lane leading to `stop` (up to APPROACH_M)."""
        start = self._map.get_waypoint_xodr(stop.road_id, stop.lane_id, stop.s)
        if start is None:
            return
        by_lane: dict[tuple[int, int], list[tuple[float, float]]] = {}
        frontier = [(start, 0.0)]
        while frontier:
            wp, dist = frontier.pop()
            by_lane.setdefault((wp.road_id, wp.lane_id), []).append((wp.s, dist))
            if dist + SAMPLE_STEP_M > APPROACH_M:
                continue
            for prev in wp.previous(SAMPLE_STEP_M):
                if not prev.is_junction:
                    frontier.append((prev, dist + SAMPLE_STEP_M))
        for (road_id, lane_id), marks in by_lane.items():
            self._mark_lane(slot, road_id, lane_id, sorted(marks))

    def _mark_lane(
        self, slot: int, road_id: int, lane_id: int, marks: list[tuple[float, float]]
    ) -> None:
        s_marks = np.array([m[0] for m in marks])
        d_marks = np.array([m[1] for m in marks])
        pad = SAMPLE_STEP_M * 0.6
        rows = np.flatnonzero(
            (self.road == road_id)
            & (self.lane == lane_id)
            & (self.s >= s_marks[0] - pad)
            & (self.s <= s_marks[-1] + pad)
        )
        slope = -1.0 if lane_id < 0 else 1.0  # d(distance to stop)/ds
        dist = np.interp(self.s[rows], s_marks, d_marks)
        dist += np.where(self.s[rows] < s_marks[0], (self.s[rows] - s_marks[0]) * slope, 0.0)
        dist += np.where(self.s[rows] > s_marks[-1], (self.s[rows] - s_marks[-1]) * slope, 0.0)
        closer = dist < self.light_dist_m[rows]
        self.light_slot[rows[closer]] = slot
        self.light_dist_m[rows[closer]] = dist[closer]


class _CellTable:
    """Each sample listed in every cell up to `reach` cells from its own (CELL_M squares).

    `keys` (sorted cell keys), `starts`, `counts` and `flat` (sample ids, ascending within a
    cell) are plain contiguous arrays so that the numba kernels can walk them directly.
    """

    def __init__(self, position: FloatArray, reach: int) -> None:
        cells = np.floor(position[:, :2] / CELL_M).astype(np.int64)
        span = np.arange(-reach, reach + 1)
        dx, dy = (g.ravel() for g in np.meshgrid(span, span))
        keys = _cell_key(cells[:, 0:1] + dx[None, :], cells[:, 1:2] + dy[None, :]).ravel()
        owners = np.repeat(np.arange(len(cells)), len(dx))
        order = np.argsort(keys, kind="stable")
        keys, flat = keys[order], owners[order]
        unique, starts, counts = np.unique(keys, return_index=True, return_counts=True)
        self.keys = np.ascontiguousarray(unique, dtype=np.int64)
        self.starts = np.ascontiguousarray(starts, dtype=np.int64)
        self.counts = np.ascontiguousarray(counts, dtype=np.int64)
        self.flat = np.ascontiguousarray(flat, dtype=np.int64)

    def nearest(
        self, position: FloatArray, points: FloatArray
    ) -> tuple[NDArray[np.bool_], IntArray, FloatArray]:
        """(has candidates, nearest sample or -1, its z-weighted squared distance or inf)."""
        n = len(points)
        found = np.zeros(n, dtype=bool)
        nearest = np.full(n, -1, dtype=np.int64)
        best_d2 = np.full(n, np.inf)
        if len(self.keys) == 0 or n == 0:
            return found, nearest, best_d2
        pts = np.ascontiguousarray(points, dtype=np.float64)
        pos = np.ascontiguousarray(position, dtype=np.float64)
        _table_kernel(
            self.keys, self.starts, self.counts, self.flat, pos, pts, found, nearest, best_d2
        )
        return found, nearest, best_d2


@numba.njit(cache=True, nogil=True)
def _nearest_in_table(
    keys: IntArray,
    starts: IntArray,
    counts: IntArray,
    flat: IntArray,
    position: FloatArray,
    px: float,
    py: float,
    pz: float,
) -> tuple[bool, int, float]:
    """(cell listed, nearest sample or -1, its z-weighted squared distance) for one point.

    Same arithmetic as the former numpy stages, so the same sample wins: candidates in the
    cell's order (ascending sample id), the first of equal distances.
    """
    cx, cy = np.floor(px / CELL_M), np.floor(py / CELL_M)
    if not (abs(cx) < 4e18 and abs(cy) < 4e18):  # NaN, inf: no cell (int cast undefined)
        return False, -1, np.inf
    key = (np.int64(cx) + (1 << 20)) * (1 << 21) + (np.int64(cy) + (1 << 20))
    row = int(min(int(np.searchsorted(keys, key)), len(keys) - 1))
    if keys[row] != key:
        return False, -1, np.inf
    best, best_d2 = -1, np.inf
    for k in range(starts[row], starts[row] + counts[row]):
        s = flat[k]
        dx = position[s, 0] - px
        dy = position[s, 1] - py
        dz = Z_WEIGHT * (position[s, 2] - pz)
        d2 = dx * dx + dy * dy + dz * dz
        if d2 < best_d2:
            best, best_d2 = s, d2
    return True, best, best_d2


@numba.njit(cache=True, nogil=True)
def _table_kernel(
    keys: IntArray,
    starts: IntArray,
    counts: IntArray,
    flat: IntArray,
    position: FloatArray,
    points: FloatArray,
    found: BoolArray,
    nearest: IntArray,
    best_d2: FloatArray,
) -> None:
    """`_CellTable.nearest` for every point (outputs preset to not found)."""
    for i in range(len(points)):
        ok, s, d2 = _nearest_in_table(
            keys, starts, counts, flat, position, points[i, 0], points[i, 1], points[i, 2]
        )
        found[i], nearest[i], best_d2[i] = ok, s, d2


@numba.njit(cache=True, nogil=True)
def _query_kernel(
    n_keys: IntArray,
    n_starts: IntArray,
    n_counts: IntArray,
    n_flat: IntArray,
    w_keys: IntArray,
    w_starts: IntArray,
    w_counts: IntArray,
    w_flat: IntArray,
    position: FloatArray,
    normal: FloatArray,
    forward: FloatArray,
    half_width: FloatArray,
    points: FloatArray,
    index: IntArray,
    ground_z: FloatArray,
    normal_out: FloatArray,
) -> None:
    """`RoadIndex.query` per point: narrow table, wide one where unsure, then the lane plane.

    Outputs come preset for "off the road" (index -1, the point's own z, normal up); only
    points within the lane's half width plus ROAD_MARGIN_M are written.
    """
    sure_d2 = (NARROW_REACH * CELL_M) ** 2
    for i in range(len(points)):
        px, py, pz = points[i, 0], points[i, 1], points[i, 2]
        ok, q, d2 = _nearest_in_table(n_keys, n_starts, n_counts, n_flat, position, px, py, pz)
        if not d2 <= sure_d2:
            ok, q, d2 = _nearest_in_table(w_keys, w_starts, w_counts, w_flat, position, px, py, pz)
        if not ok or q < 0:
            continue
        rx, ry = px - position[q, 0], py - position[q, 1]
        n0, n1, n2 = normal[q, 0], normal[q, 1], normal[q, 2]
        lateral = abs(rx * -forward[q, 1] + ry * forward[q, 0])
        if lateral <= half_width[q] + ROAD_MARGIN_M:
            index[i] = q
            ground_z[i] = position[q, 2] - (n0 * rx + n1 * ry) / n2
            normal_out[i, 0], normal_out[i, 1], normal_out[i, 2] = n0, n1, n2


def _waypoint_row(wp: Any) -> tuple[float, ...]:
    t = wp.transform
    loc, rot = t.location, t.rotation
    return (
        loc.x,
        loc.y,
        loc.z,
        rot.pitch,
        rot.yaw,
        rot.roll,
        float(wp.road_id),
        float(wp.lane_id),
        wp.s,
        wp.lane_width,
    )


def _up_vectors(pitch: FloatArray, yaw: FloatArray, roll: FloatArray) -> FloatArray:
    """Column 2 of CARLA's rotation matrix (geometry.rotation_matrix), vectorised."""
    cp, sp = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    cr, sr = np.cos(roll), np.sin(roll)
    return np.stack([-cy * sp * cr - sy * sr, -sy * sp * cr + cy * sr, cp * cr], axis=1)


def _cell_key(ix: IntArray, iy: IntArray) -> IntArray:
    return (ix + (1 << 20)) * (1 << 21) + (iy + (1 << 20))
