"""Junction admission: a vehicle enters only when no crossing or merging path is in use.

Every junction lane (run) knows the runs of the same junction it crosses or merges with
(`LaneGraph.conflicts`). A vehicle close enough to a junction reserves the runs its path
takes through it, if none of their conflicting runs is reserved, and keeps them until
its rear has left them; otherwise it waits at the entry. Waiting vehicles are served
longest-waiting first, and a waiting vehicle's wish blocks later arrivals on conflicting
runs, so no approach starves. A vehicle also waits while the lane beyond the junction has
no room for it (the box is never blocked). Lights order the approaches before this runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from runner.sim.profiling import TIMER
from runner.sim.traffic.fleet import BoolArray, FloatArray, IntArray
from runner.sim.traffic.graph import LaneGraph
from runner.sim.traffic.paths import PathGeometry

DECISION_MARGIN_M = 6.0  # decide this far beyond the comfortable stopping distance
ENTRY_MARGIN_M = 1.0  # a waiting vehicle's front stops this far before the junction
EXIT_ROOM_M = 2.0  # wanted free lane beyond the junction, besides the vehicle's length
QUEUE_SPEED_MPS = 1.0  # an obstacle slower than this beyond the exit is a queue
CLEAR_MARGIN_M = 1.0


@dataclass(frozen=True, slots=True)
class Approach:
    """Per fleet row: the next junction on the path (k = -1 where none)."""

    entry_k: IntArray
    exit_k: IntArray
    entry_m: FloatArray  # front bumper to junction entry


def approaches(
    graph: LaneGraph, geom: PathGeometry, path: IntArray, front_m: FloatArray
) -> Approach:
    inside = graph.in_junction[path] & geom.valid
    rows = np.arange(len(path))
    k_in = np.argmax(inside, axis=1)
    has = inside[rows, k_in]
    after = ~inside & (np.arange(path.shape[1])[None, :] > k_in[:, None]) & geom.valid
    k_out = np.where(after.any(axis=1), np.argmax(after, axis=1), -1)
    entry = np.where(has, geom.along[rows, k_in] - front_m, np.inf)
    return Approach(np.where(has, k_in, -1), np.where(has, k_out, -1), entry)


@dataclass
class Admission:
    """Reservations of junction runs by vehicle id, kept across steps."""

    held: dict[int, set[int]] = field(default_factory=dict)  # vehicle -> runs
    by_run: dict[int, set[int]] = field(default_factory=dict)  # run -> vehicles
    waiting_since: dict[int, float] = field(default_factory=dict)
    clock_s: float = 0.0

    def forget(self, vehicle: int) -> None:
        for run in self.held.pop(vehicle, set()):
            self.by_run.get(run, set()).discard(vehicle)
        self.waiting_since.pop(vehicle, None)

    def clear(self) -> None:
        self.held.clear()
        self.by_run.clear()
        self.waiting_since.clear()

    def _reserve(self, vehicle: int, runs: set[int]) -> None:
        self.held.setdefault(vehicle, set()).update(runs)
        for run in runs:
            self.by_run.setdefault(run, set()).add(vehicle)
        self.waiting_since.pop(vehicle, None)

    def _release(self, vehicle: int, runs: set[int]) -> None:
        mine = self.held.get(vehicle, set())
        mine -= runs
        for run in runs:
            self.by_run.get(run, set()).discard(vehicle)
        if not mine:
            self.held.pop(vehicle, None)

    def _blocked(self, vehicle: int, runs: set[int], wished: set[int], graph: LaneGraph) -> bool:
        for run in runs:
            for other in graph.conflicts.get(run, ()):
                users = self.by_run.get(other)
                if other in wished or (users and (len(users) > 1 or vehicle not in users)):
                    return True
        return False

    def step(
        self,
        graph: LaneGraph,
        ids: IntArray,
        path: IntArray,
        xy: FloatArray,
        rear_m: FloatArray,
        approach: Approach,
        speed: FloatArray,
        room_blocked: BoolArray,
        may_enter: BoolArray,
        dt_s: float,
    ) -> FloatArray:
        """Update reservations; returns each row's gap to where it must wait (inf: go)."""
        with TIMER.stage("tm.junctions"):
            return self._step(
                graph, ids, path, xy, rear_m, approach, speed, room_blocked, may_enter, dt_s
            )

    def _step(
        self,
        graph: LaneGraph,
        ids: IntArray,
        path: IntArray,
        xy: FloatArray,
        rear_m: FloatArray,
        approach: Approach,
        speed: FloatArray,
        room_blocked: BoolArray,
        may_enter: BoolArray,
        dt_s: float,
    ) -> FloatArray:
        self.clock_s += dt_s
        self._release_cleared(graph, ids, path, xy, rear_m)
        gap = np.full(len(ids), np.inf)
        decide = approach.entry_m <= speed * speed / 6.0 + DECISION_MARGIN_M
        candidates = []
        waiting = np.isin(ids, np.fromiter(self.waiting_since, np.int64, len(self.waiting_since)))
        # rows neither inside, nor deciding, nor waiting have nothing to update
        busy = (approach.entry_k >= 0) & ((approach.entry_k == 0) | decide | waiting)
        for row in np.flatnonzero(busy).tolist():
            runs = self._runs_through(graph, path[row], approach, row)
            vehicle = int(ids[row])
            inside_now = approach.entry_k[row] == 0
            if runs <= self.held.get(vehicle, set()):
                continue
            if inside_now:
                self._reserve(vehicle, runs)
            elif decide[row]:
                since = self.waiting_since.setdefault(vehicle, self.clock_s)
                candidates.append((since, float(approach.entry_m[row]), row, vehicle, runs))
            else:
                self.waiting_since.pop(vehicle, None)
        wished: set[int] = set()
        for _, entry_m, row, vehicle, runs in sorted(candidates):
            if may_enter[row] and not room_blocked[row]:
                if not self._blocked(vehicle, runs, wished, graph):
                    self._reserve(vehicle, runs)
                    continue
                wished |= runs  # only a vehicle free to go but for traffic holds others back
            gap[row] = max(entry_m - ENTRY_MARGIN_M, 0.0)
        return gap

    @staticmethod
    def _runs_through(
        graph: LaneGraph, row_path: IntArray, approach: Approach, row: int
    ) -> set[int]:
        k_in = int(approach.entry_k[row])
        k_out = int(approach.exit_k[row])
        stop = k_out if k_out > 0 else len(row_path)
        return set(graph.run[row_path[k_in:stop]].tolist())

    def _release_cleared(
        self, graph: LaneGraph, ids: IntArray, path: IntArray, xy: FloatArray, rear_m: FloatArray
    ) -> None:
        if not self.held:
            return
        row_of = {int(v): r for r, v in enumerate(ids.tolist())}
        for vehicle in list(self.held):
            row = row_of.get(vehicle)
            if row is None:
                self.forget(vehicle)
                continue
            ahead = set(graph.run[path[row]].tolist())
            done = set()
            for run in self.held[vehicle]:
                if run in ahead:
                    continue
                end = graph.pos[graph.run_last[run], :2]
                if float(np.hypot(*(xy[row] - end))) > rear_m[row] + CLEAR_MARGIN_M:
                    done.add(run)
            if done:
                self._release(vehicle, done)
