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
        path_runs = np.take(graph.run, path)
        self._release_cleared(graph, ids, path_runs, xy, rear_m)
        gap = np.full(len(ids), np.inf)
        decide = approach.entry_m <= speed * speed / 6.0 + DECISION_MARGIN_M
        candidates = []
        since_of = self.waiting_since
        waiting = np.fromiter((v in since_of for v in ids.tolist()), np.bool_, len(ids))
        # rows neither inside, nor deciding, nor waiting have nothing to update
        busy = (approach.entry_k >= 0) & ((approach.entry_k == 0) | decide | waiting)
        for row in np.flatnonzero(busy).tolist():
            runs = self._runs_through(path_runs[row], approach, row)
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
    def _runs_through(row_runs: IntArray, approach: Approach, row: int) -> set[int]:
        """The junction runs a row's path takes from its entry to its exit."""
        k_in = int(approach.entry_k[row])
        k_out = int(approach.exit_k[row])
        stop = k_out if k_out > 0 else len(row_runs)
        return set(row_runs[k_in:stop].tolist())

    def _release_cleared(
        self,
        graph: LaneGraph,
        ids: IntArray,
        path_runs: IntArray,
        xy: FloatArray,
        rear_m: FloatArray,
    ) -> None:
        """Release the runs a vehicle has left: off its path and its rear clear of their end."""
        if not self.held:
            return
        row_of = {int(v): r for r, v in enumerate(ids.tolist())}
        vehicles: list[int] = []
        rows: list[int] = []
        runs: list[int] = []
        for vehicle in list(self.held):
            row = row_of.get(vehicle)
            if row is None:
                self.forget(vehicle)
                continue
            for run in self.held[vehicle]:
                vehicles.append(vehicle)
                rows.append(row)
                runs.append(run)
        if not runs:
            return
        r, held = np.array(rows, dtype=np.int64), np.array(runs, dtype=np.int64)
        on_path = (path_runs[r] == held[:, None]).any(axis=1)
        end = graph.pos[graph.run_last[held], :2]
        gone = np.hypot(xy[r, 0] - end[:, 0], xy[r, 1] - end[:, 1]) > rear_m[r] + CLEAR_MARGIN_M
        done: dict[int, set[int]] = {}
        for i in np.flatnonzero(~on_path & gone).tolist():
            done.setdefault(vehicles[i], set()).add(runs[i])
        for vehicle, cleared in done.items():
            self._release(vehicle, cleared)
