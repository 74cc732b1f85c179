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

import functools
import math
from dataclasses import dataclass, field

import numba
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


def _empty_ints() -> IntArray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class Admission:
    """Reservations of junction runs, kept across steps, as arrays (one kernel per step).

    Held: (vehicle id, run) pairs. Waiting: since when each vehicle that decided to enter
    has been kept at its entry (served longest-waiting first).
    """

    vehicle: IntArray = field(default_factory=_empty_ints)
    run: IntArray = field(default_factory=_empty_ints)
    wait_vehicle: IntArray = field(default_factory=_empty_ints)
    wait_since: FloatArray = field(default_factory=lambda: np.zeros(0))
    clock_s: float = 0.0

    def forget(self, vehicle: int) -> None:
        self._drop(np.array([vehicle], dtype=np.int64))

    def clear(self) -> None:
        self.vehicle, self.run = _empty_ints(), _empty_ints()
        self.wait_vehicle, self.wait_since = _empty_ints(), np.zeros(0)

    def held_by(self, vehicle: int) -> set[int]:
        """The runs a vehicle holds (for tests and tools)."""
        return set(self.run[self.vehicle == vehicle].tolist())

    def _drop(self, vehicles: IntArray) -> None:
        keep = ~np.isin(self.vehicle, vehicles)
        self.vehicle, self.run = self.vehicle[keep], self.run[keep]
        keep = ~np.isin(self.wait_vehicle, vehicles)
        self.wait_vehicle, self.wait_since = self.wait_vehicle[keep], self.wait_since[keep]

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
        n = len(ids)
        order = np.argsort(ids, kind="stable")
        pair_row = _rows_of(ids, order, self.vehicle)
        if (pair_row < 0).any():  # vehicles gone from the fleet let go of everything
            self._drop(np.unique(self.vehicle[pair_row < 0]))
            pair_row = pair_row[pair_row >= 0]
        wait_row = _rows_of(ids, order, self.wait_vehicle)
        here = wait_row >= 0
        since = np.full(n, np.nan)
        since[wait_row[here]] = self.wait_since[here]
        decide = approach.entry_m <= speed * speed / 6.0 + DECISION_MARGIN_M
        table = _conflict_table(graph)
        gap = np.full(n, np.inf)
        new_row, new_run = _admit_kernel(
            np.ascontiguousarray(np.take(graph.run, path)),
            np.ascontiguousarray(approach.entry_k, dtype=np.int64),
            np.ascontiguousarray(approach.exit_k, dtype=np.int64),
            np.ascontiguousarray(approach.entry_m, dtype=np.float64),
            np.ascontiguousarray(decide),
            np.ascontiguousarray(room_blocked),
            np.ascontiguousarray(may_enter),
            np.ascontiguousarray(xy, dtype=np.float64),
            np.ascontiguousarray(rear_m, dtype=np.float64),
            table.end_xy,
            table.start,
            table.conflicts,
            pair_row,
            self.run,
            since,
            self.clock_s,
            gap,
        )
        self.vehicle, self.run = ids[new_row], new_run
        waiting = ~np.isnan(since)
        self.wait_vehicle = np.concatenate([self.wait_vehicle[~here], ids[waiting]])
        self.wait_since = np.concatenate([self.wait_since[~here], since[waiting]])
        return gap


def _rows_of(ids: IntArray, order: IntArray, vehicles: IntArray) -> IntArray:
    """Fleet row of each vehicle id (`order`: argsort of `ids`), -1 where not in the fleet."""
    if len(ids) == 0:
        return np.full(len(vehicles), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(ids[order], vehicles), len(ids) - 1)
    return np.where(ids[order][pos] == vehicles, order[pos], -1)


@dataclass(frozen=True, slots=True)
class _ConflictTable:
    """`LaneGraph.conflicts` as compressed rows, and where each run ends."""

    start: IntArray  # (R + 1,) run r conflicts with conflicts[start[r]:start[r + 1]]
    conflicts: IntArray
    end_xy: FloatArray  # (R, 2)


@functools.lru_cache(maxsize=4)
def _conflict_table(graph: LaneGraph) -> _ConflictTable:
    runs = len(graph.run_last)
    lists = [sorted(graph.conflicts.get(r, ())) for r in range(runs)]
    start = np.zeros(runs + 1, dtype=np.int64)
    start[1:] = np.cumsum([len(x) for x in lists])
    flat = np.array([c for x in lists for c in x], dtype=np.int64)
    end_xy = np.ascontiguousarray(graph.pos[graph.run_last, :2], dtype=np.float64)
    return _ConflictTable(start, flat, end_xy)


@numba.njit(cache=True, nogil=True)
def _admit_kernel(
    path_runs: IntArray,
    entry_k: IntArray,
    exit_k: IntArray,
    entry_m: FloatArray,
    decide: BoolArray,
    room_blocked: BoolArray,
    may_enter: BoolArray,
    xy: FloatArray,
    rear_m: FloatArray,
    end_xy: FloatArray,
    conflict_start: IntArray,
    conflicts: IntArray,
    pair_row: IntArray,
    pair_run: IntArray,
    since: FloatArray,
    clock_s: float,
    gap: FloatArray,
) -> tuple[IntArray, IntArray]:
    """One admission step; returns the held (row, run) pairs, updates `since` and `gap`.

    1. Release the runs a vehicle has left: off its path, its rear clear of their end.
    2. Rows inside a junction, deciding, or waiting: the distinct runs their path takes
       from entry to exit. Rows already holding them all are done; rows inside reserve
       them; rows deciding become candidates (waiting from now, if not already); the
       others stop waiting.
    3. Candidates, longest-waiting first (then nearest, then by row), reserve their runs
       unless a conflicting run is held by another vehicle or wished by a candidate
       served before that was free to go but for traffic; those that may not go wait
       ENTRY_MARGIN_M before the entry.
    """
    n, k_max = path_runs.shape
    runs_total = len(end_xy)
    # 1. release
    keep = np.zeros(len(pair_row), dtype=np.bool_)
    for p in range(len(pair_row)):
        row, run = pair_row[p], pair_run[p]
        on_path = False
        for k in range(k_max):
            if path_runs[row, k] == run:
                on_path = True
                break
        d = math.hypot(xy[row, 0] - end_xy[run, 0], xy[row, 1] - end_xy[run, 1])
        keep[p] = on_path or not d > rear_m[row] + CLEAR_MARGIN_M
    held_row = np.empty(len(pair_row) + n * k_max, dtype=np.int64)
    held_run = np.empty(len(pair_row) + n * k_max, dtype=np.int64)
    used = 0
    count = np.zeros(runs_total, dtype=np.int64)
    sole = np.full(runs_total, -1, dtype=np.int64)
    row_pairs = np.zeros(n + 1, dtype=np.int64)
    for p in range(len(pair_row)):
        if keep[p]:
            held_row[used], held_run[used] = pair_row[p], pair_run[p]
            used += 1
            count[pair_run[p]] += 1
            sole[pair_run[p]] = pair_row[p]
            row_pairs[pair_row[p] + 1] += 1
    for r in range(n):
        row_pairs[r + 1] += row_pairs[r]
    by_row = np.empty(used, dtype=np.int64)  # held runs grouped by row, as of step 1
    fill = row_pairs[:n].copy()
    for p in range(used):
        by_row[fill[held_row[p]]] = held_run[p]
        fill[held_row[p]] += 1
    # 2. the runs each busy row takes; reserve inside, collect candidates
    mark = np.zeros(runs_total, dtype=np.int64)  # == stamp: held by the row being looked at
    seen = np.zeros(runs_total, dtype=np.int64)
    runs_of = np.empty((n, k_max), dtype=np.int64)
    runs_len = np.zeros(n, dtype=np.int64)
    candidate = np.empty(n, dtype=np.int64)
    candidates = 0
    for row in range(n):
        k_in = entry_k[row]
        waiting = not np.isnan(since[row])
        if k_in < 0 or not (k_in == 0 or decide[row] or waiting):
            continue
        stamp = row + 1
        stop = exit_k[row] if exit_k[row] > 0 else k_max
        m = 0
        for k in range(k_in, stop):
            run = path_runs[row, k]
            if seen[run] != stamp:
                seen[run] = stamp
                runs_of[row, m] = run
                m += 1
        runs_len[row] = m
        for q in range(row_pairs[row], row_pairs[row + 1]):
            mark[by_row[q]] = stamp
        holds_all = True
        for j in range(m):
            if mark[runs_of[row, j]] != stamp:
                holds_all = False
                break
        if holds_all:
            continue
        if k_in == 0:
            used = _reserve(
                row, runs_of[row, :m], mark, stamp, held_row, held_run, used, count, sole
            )
            since[row] = np.nan
        elif decide[row]:
            if not waiting:
                since[row] = clock_s
            candidate[candidates] = row
            candidates += 1
        else:
            since[row] = np.nan
    # 3. serve the candidates in order
    for i in range(1, candidates):  # insertion sort by (since, entry_m, row)
        c = candidate[i]
        j = i - 1
        while j >= 0 and _before(c, candidate[j], since, entry_m):
            candidate[j + 1] = candidate[j]
            j -= 1
        candidate[j + 1] = c
    wished = np.zeros(runs_total, dtype=np.bool_)
    for i in range(candidates):
        row = candidate[i]
        runs = runs_of[row, : runs_len[row]]
        if may_enter[row] and not room_blocked[row]:
            blocked = False
            for run in runs:
                for q in range(conflict_start[run], conflict_start[run + 1]):
                    other = conflicts[q]
                    if wished[other] or (
                        count[other] > 1 or (count[other] == 1 and sole[other] != row)
                    ):
                        blocked = True
                        break
                if blocked:
                    break
            if not blocked:
                stamp = row + 1
                for q in range(row_pairs[row], row_pairs[row + 1]):
                    mark[by_row[q]] = stamp
                used = _reserve(row, runs, mark, stamp, held_row, held_run, used, count, sole)
                since[row] = np.nan
                continue
            for run in runs:
                wished[run] = True
        gap[row] = max(entry_m[row] - ENTRY_MARGIN_M, 0.0)
    return held_row[:used].copy(), held_run[:used].copy()


@numba.njit(cache=True, nogil=True)
def _before(a: int, b: int, since: FloatArray, entry_m: FloatArray) -> bool:
    """Candidate row a is served before b: waiting longer, then nearer, then lower row."""
    if since[a] != since[b]:
        return since[a] < since[b]
    if entry_m[a] != entry_m[b]:
        return entry_m[a] < entry_m[b]
    return a < b


@numba.njit(cache=True, nogil=True)
def _reserve(
    row: int,
    runs: IntArray,
    mark: IntArray,
    stamp: int,
    held_row: IntArray,
    held_run: IntArray,
    used: int,
    count: IntArray,
    sole: IntArray,
) -> int:
    """Add the runs the row does not hold yet (`mark[run] == stamp`: it does)."""
    for run in runs:
        if mark[run] == stamp:
            continue
        mark[run] = stamp
        held_row[used], held_run[used] = row, run
        used += 1
        count[run] += 1
        if count[run] == 1:
            sole[run] = row
    return used
