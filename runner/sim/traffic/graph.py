"""The road graph the Traffic Manager drives on: lane samples linked along and across lanes.

Built once per map from the simulator's `carla.Map` (the one made from the .xodr). The
samples are `generate_waypoints(1 m)`, the very list the world's `RoadIndex` samples, so
sample i here is sample i there and the light approaches and speed limits it annotated
are reused as they are. A *run* is one lane of one road section in driving order; runs
inside junctions carry their junction, the lane they leave from, their turn, and the runs
of the same junction whose paths cross or merge with theirs.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from runner.sim.traffic.grid import SampleGrid
from runner.sim.world.loaded_map import LoadedMap
from runner.sim.world.road_state import SAMPLE_STEP_M

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
RunKey = tuple[int, int, int]  # (road_id, section_id, lane_id)

GRID_CELL_M = 3.0  # >= every radius the TM asks the grid about
CONFLICT_M = 2.6  # junction paths closer than this cannot be driven at the same time
TURN_DEG = 30.0  # heading change through a junction that counts as a left/right turn
LANE_CHANGE_RIGHT, LANE_CHANGE_LEFT = 1, 2  # carla.LaneChange bit values


@dataclass(frozen=True, eq=False)
class LaneGraph:
    """Arrays indexed by sample (S rows) or by run (R rows)."""

    pos: FloatArray  # (S, 3)
    fwd: FloatArray  # (S, 2) unit driving direction
    right: FloatArray  # (S, 2) unit vector to the right of it
    half_width: FloatArray
    run: IntArray  # run of each sample
    lane_change: IntArray  # LANE_CHANGE_* bits allowed from this sample
    succ_start: IntArray  # (S + 1) successors of sample i: succ[succ_start[i]:succ_start[i+1]]
    succ: IntArray
    left: IntArray  # same-direction lane sample to the left, -1 if none
    right_lane: IntArray
    light_slot: IntArray  # from RoadIndex: light controlling the lane ahead, -1
    light_dist_m: FloatArray  # from RoadIndex: distance to that light's stop line
    run_junction: IntArray  # (R,) junction id, -1 outside junctions
    run_turn: IntArray  # (R,) 1 left, 2 right, 3 straight (carla.RoadOption), 0 outside
    run_entry: IntArray  # (R,) run a junction run is entered from, -1
    run_first: IntArray  # (R,) first and last sample of each run
    run_last: IntArray
    conflicts: dict[int, frozenset[int]]  # junction run -> runs it cannot share the junction with
    grid: SampleGrid

    @property
    def size(self) -> int:
        return len(self.pos)

    @functools.cached_property
    def in_junction(self) -> NDArray[np.bool_]:
        return self.run_junction[self.run] >= 0

    # 1-D copies of the (S, 2) columns: gathering from them with an (N, K) path index is
    # several times faster than gathering rows of the 2-D arrays (paths.geometry's hot spot)
    @functools.cached_property
    def pos_x(self) -> FloatArray:
        return np.ascontiguousarray(self.pos[:, 0])

    @functools.cached_property
    def pos_y(self) -> FloatArray:
        return np.ascontiguousarray(self.pos[:, 1])

    @functools.cached_property
    def fwd_x(self) -> FloatArray:
        return np.ascontiguousarray(self.fwd[:, 0])

    @functools.cached_property
    def fwd_y(self) -> FloatArray:
        return np.ascontiguousarray(self.fwd[:, 1])

    @functools.cached_property
    def right_x(self) -> FloatArray:
        return np.ascontiguousarray(self.right[:, 0])

    @functools.cached_property
    def right_y(self) -> FloatArray:
        return np.ascontiguousarray(self.right[:, 1])

    @functools.cached_property
    def heading_rad(self) -> FloatArray:
        """Driving direction of each sample (curvature ahead without arctan2 per step)."""
        return np.arctan2(self.fwd[:, 1], self.fwd[:, 0])

    def successors(self, sample: int) -> IntArray:
        return self.succ[self.succ_start[sample] : self.succ_start[sample + 1]]


@functools.lru_cache(maxsize=4)
def lane_graph(loaded: LoadedMap) -> LaneGraph:
    """The graph of a loaded map (built once; a few hundred ms for a CARLA town)."""
    waypoints = list(loaded.carla_map.generate_waypoints(SAMPLE_STEP_M))
    index = loaded.road_index
    builder = _Builder(waypoints)
    if len(waypoints) != len(index.position) or not np.allclose(
        builder.pos, index.position, atol=1e-3
    ):
        raise RuntimeError("lane samples differ from the world's road index")
    return builder.finish(index.light_slot.copy(), index.light_dist_m.copy())


class _Builder:
    """Turns a waypoint list into the graph's arrays (Python loops run once per map)."""

    def __init__(self, waypoints: Sequence[Any]) -> None:
        self.wps = waypoints
        n = len(waypoints)
        rows = np.array([_row(wp) for wp in waypoints], dtype=np.float64).reshape(n, 10)
        self.pos = np.ascontiguousarray(rows[:, 0:3])
        yaw = np.radians(rows[:, 3])
        self.fwd = np.stack([np.cos(yaw), np.sin(yaw)], axis=1)
        self.right = np.stack([-np.sin(yaw), np.cos(yaw)], axis=1)
        self.half_width = rows[:, 4] * 0.5
        self.keys: list[RunKey] = [(int(r[5]), int(r[6]), int(r[7])) for r in rows]
        self.s = rows[:, 8]
        self.lane_change = rows[:, 9].astype(np.int64)
        self._order_runs()

    def _order_runs(self) -> None:
        by_key: dict[RunKey, list[int]] = {}
        for i, key in enumerate(self.keys):
            by_key.setdefault(key, []).append(i)
        self.run_of_key: dict[RunKey, int] = {}
        self.run_samples: list[IntArray] = []
        self.run = np.zeros(len(self.keys), dtype=np.int64)
        for r, (key, members) in enumerate(sorted(by_key.items())):
            ordered = np.array(sorted(members, key=lambda i: self.s[i]), dtype=np.int64)
            if len(ordered) > 1:
                along = self.pos[ordered[-1], :2] - self.pos[ordered[0], :2]
                if float(along @ self.fwd[ordered].mean(axis=0)) < 0.0:
                    ordered = ordered[::-1]
            self.run_of_key[key] = r
            self.run_samples.append(ordered)
            self.run[ordered] = r

    def _sample_at(self, wp: Any) -> int:
        """The sample of wp's run nearest to wp's s (-1 if wp is not on a driving lane)."""
        r = self.run_of_key.get((wp.road_id, wp.section_id, wp.lane_id))
        if r is None:
            return -1
        members = self.run_samples[r]
        return int(members[np.argmin(np.abs(self.s[members] - wp.s))])

    def _end_successors(self, last: int) -> list[int]:
        """Samples that follow the last sample of a run (through `Waypoint.next`)."""
        found: list[int] = []
        frontier = [self.wps[last]]
        for _ in range(4):
            ahead: list[Any] = []
            for wp in frontier:
                for nxt in wp.next(SAMPLE_STEP_M):
                    sample = self._sample_at(nxt)
                    if sample < 0:
                        continue
                    if self.run[sample] == self.run[last]:
                        ahead.append(nxt)  # still on this lane: step again
                    elif sample not in found:
                        found.append(sample)
            if not ahead:
                break
            frontier = ahead
        return found

    def _successors(self) -> tuple[IntArray, IntArray]:
        lists: list[list[int]] = [[] for _ in self.keys]
        for members in self.run_samples:
            for a, b in itertools.pairwise(members.tolist()):
                lists[a].append(b)
            lists[int(members[-1])] = self._end_successors(int(members[-1]))
        counts = np.array([len(x) for x in lists], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        flat = np.array([s for x in lists for s in x], dtype=np.int64)
        return start, flat

    def _neighbours(self) -> tuple[IntArray, IntArray]:
        left = np.full(len(self.keys), -1, dtype=np.int64)
        right = np.full(len(self.keys), -1, dtype=np.int64)
        for i, wp in enumerate(self.wps):
            for target, other in ((left, wp.get_left_lane()), (right, wp.get_right_lane())):
                if other is not None and other.lane_id * wp.lane_id > 0:
                    target[i] = self._sample_at(other)
        return left, right

    def _runs(self, succ_start: IntArray, succ: IntArray) -> tuple[IntArray, ...]:
        n_runs = len(self.run_samples)
        first = np.array([m[0] for m in self.run_samples], dtype=np.int64)
        last = np.array([m[-1] for m in self.run_samples], dtype=np.int64)
        junction = np.full(n_runs, -1, dtype=np.int64)
        turn = np.zeros(n_runs, dtype=np.int64)
        entry = np.full(n_runs, -1, dtype=np.int64)
        for r, members in enumerate(self.run_samples):
            wp = self.wps[int(members[0])]
            if wp.is_junction:
                junction[r] = wp.get_junction().id
                turn[r] = _turn(self.fwd[members[0]], self.fwd[members[-1]])
        for r in range(n_runs):
            end = int(last[r])
            for nxt in succ[succ_start[end] : succ_start[end + 1]]:
                target = int(self.run[nxt])
                if junction[target] >= 0 and junction[r] < 0:
                    entry[target] = r
        return first, last, junction, turn, entry

    def finish(self, light_slot: IntArray, light_dist_m: FloatArray) -> LaneGraph:
        succ_start, succ = self._successors()
        left, right = self._neighbours()
        first, last, junction, turn, entry = self._runs(succ_start, succ)
        grid = SampleGrid(self.pos, GRID_CELL_M)
        conflicts = _conflicts(grid, self.pos, self.run, junction, entry)
        return LaneGraph(
            pos=self.pos,
            fwd=self.fwd,
            right=self.right,
            half_width=self.half_width,
            run=self.run,
            lane_change=self.lane_change,
            succ_start=succ_start,
            succ=succ,
            left=left,
            right_lane=right,
            light_slot=light_slot,
            light_dist_m=light_dist_m,
            run_junction=junction,
            run_turn=turn,
            run_entry=entry,
            run_first=first,
            run_last=last,
            conflicts=conflicts,
            grid=grid,
        )


def _row(wp: Any) -> tuple[float, ...]:
    loc, rot = wp.transform.location, wp.transform.rotation
    return (
        loc.x,
        loc.y,
        loc.z,
        rot.yaw,
        wp.lane_width,
        float(wp.road_id),
        float(wp.section_id),
        float(wp.lane_id),
        wp.s,
        float(int(wp.lane_change)),
    )


def _turn(fwd_in: FloatArray, fwd_out: FloatArray) -> int:
    """carla.RoadOption of a junction lane: yaw grows when turning right (left-handed axes)."""
    change = math.degrees(
        math.atan2(fwd_in[0] * fwd_out[1] - fwd_in[1] * fwd_out[0], float(fwd_in @ fwd_out))
    )
    if change > TURN_DEG:
        return 2
    if change < -TURN_DEG:
        return 1
    return 3


def _conflicts(
    grid: SampleGrid, pos: FloatArray, run: IntArray, junction: IntArray, entry: IntArray
) -> dict[int, frozenset[int]]:
    """Junction runs whose centrelines come within CONFLICT_M (unless they share an entry)."""
    inside = np.flatnonzero(junction[run] >= 0)
    hits = grid.within(pos[inside], CONFLICT_M)
    a, b = run[inside[hits.row]], run[hits.sample]
    keep = (a != b) & (junction[b] == junction[a]) & ((entry[a] != entry[b]) | (entry[a] < 0))
    pairs = np.unique(np.stack([a[keep], b[keep]], axis=1), axis=0)
    found: dict[int, set[int]] = {}
    for x, y in pairs.tolist():
        found.setdefault(x, set()).add(y)
        found.setdefault(y, set()).add(x)
    return {k: frozenset(v) for k, v in found.items()}
