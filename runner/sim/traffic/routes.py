"""`set_route` and `set_path`: the choices a vehicle makes at branches, when told.

Only branches are decisions (a sample with several successors), so both APIs come down
to picking a successor there. A route is one `carla.RoadOption` per junction entered:
the successor whose junction lane turns that way is taken (none turning that way: a
random one, and the option is used up all the same). A path is a list of locations:
each becomes its nearest lane sample, and at a branch the successor with the shortest
drive to the next target not yet on the planned path is taken (Dijkstra over lane runs,
once per target); when only the next lane over leads there (a target on a parallel
lane, a turn another lane takes) the vehicle asks for a lane change that way. A target
counts as reached when the vehicle passes its sample or comes within REACHED_M. When
the list is used up the vehicle drives randomly again.

Cursors (options used, targets reached) live in the fleet's columns and only move as the
vehicle passes branches or targets, so a path planned again (lane change, relocation)
makes the same choices.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Sequence

import numpy as np

from runner.sim.traffic.fleet import Fleet, FloatArray, IntArray
from runner.sim.traffic.graph import LaneGraph
from runner.sim.traffic.parameters import Knobs, VehicleSettings

LANE_FOLLOW, STRAIGHT = 4, 3
REACHED_M = 3.0
LANE_GAIN_M = 20.0  # a lane change for set_path must shorten the drive by this much


@functools.lru_cache(maxsize=4)
def junction_branches(graph: LaneGraph) -> np.ndarray:
    """Samples with several successors of which one lies inside a junction."""
    count = graph.succ_start[1:] - graph.succ_start[:-1]
    into = graph.in_junction[graph.succ]
    owner = np.repeat(np.arange(graph.size), count)
    has = np.zeros(graph.size, dtype=bool)
    has[owner[into]] = True
    return has & (count > 1)


class Targets:
    """Target samples of every vehicle with a set_path, and distances to them."""

    def __init__(self) -> None:
        self.by_vehicle: dict[int, IntArray] = {}
        self._dist: dict[tuple[int, int], FloatArray] = {}

    def clear(self) -> None:
        self.by_vehicle.clear()
        self._dist.clear()

    def assign(
        self, graph: LaneGraph, vehicle: int, locations: Sequence[tuple[float, ...]]
    ) -> None:
        if not locations:
            self.by_vehicle.pop(vehicle, None)
            return
        xy = np.array([(p[0], p[1]) for p in locations], dtype=np.float64)
        d2 = ((graph.pos[None, :, :2] - xy[:, None, :]) ** 2).sum(axis=2)
        self.by_vehicle[vehicle] = np.argmin(d2, axis=1).astype(np.int64)

    def distance_to(self, graph: LaneGraph, target: int) -> FloatArray:
        """Per run: metres from its first sample to `target` (inf: unreachable)."""
        key = (id(graph), target)
        found = self._dist.get(key)
        if found is None:
            found = self._dist[key] = _reverse_dijkstra(graph, target)
        return found


@functools.lru_cache(maxsize=4)
def _run_links(graph: LaneGraph) -> tuple[list[list[int]], FloatArray]:
    """Predecessor runs of every run, and each run's length in samples (1 m apart)."""
    n_runs = len(graph.run_first)
    preds: list[list[int]] = [[] for _ in range(n_runs)]
    for r in range(n_runs):
        last = int(graph.run_last[r])
        for nxt in graph.successors(last).tolist():
            preds[int(graph.run[nxt])].append(r)
    length = np.bincount(graph.run, minlength=n_runs).astype(np.float64)
    return preds, length


def _reverse_dijkstra(graph: LaneGraph, target: int) -> FloatArray:
    preds, length = _run_links(graph)
    goal = int(graph.run[target])
    dist = np.full(len(length), np.inf)
    dist[goal] = _index_in_run(graph, target)
    heap = [(dist[goal], goal)]
    while heap:
        d, r = heapq.heappop(heap)
        if d > dist[r]:
            continue
        for p in preds[r]:
            nd = d + length[p]
            if nd < dist[p]:
                dist[p] = nd
                heapq.heappush(heap, (nd, p))
    return dist


def _index_in_run(graph: LaneGraph, sample: int) -> float:
    """Samples from the run's first sample to `sample` (walks the run's successor chain)."""
    run = int(graph.run[sample])
    at, steps = int(graph.run_first[run]), 0
    while at != sample and steps < graph.size:
        nxt = [s for s in graph.successors(at).tolist() if graph.run[s] == run]
        if not nxt:
            break
        at, steps = nxt[0], steps + 1
    return float(steps)


def choose(
    graph: LaneGraph,
    fleet: Fleet,
    per: list[VehicleSettings],
    targets: Targets,
    rows: IntArray,
    samples: IntArray,
    picked: IntArray,
) -> IntArray:
    """Override the random `picked` successors where a route or path decides."""
    out = picked.copy()
    branches = junction_branches(graph)
    for i, (row, sample) in enumerate(zip(rows.tolist(), samples.tolist(), strict=True)):
        v = per[row]
        options = graph.successors(sample)
        planned = fleet.path[row, : fleet.i("length")[row]]
        if v.route and branches[sample]:
            at = int(fleet.i("route_cursor")[row]) + int(branches[planned[:-1]].sum())
            if at < len(v.route):
                out[i] = _by_turn(graph, options, v.route[at], int(picked[i]))
        goal = _next_target(targets, int(fleet.ids[row]), fleet, row, planned)
        if goal >= 0:
            dist = targets.distance_to(graph, goal)
            cost = np.array([dist[graph.run[c]] for c in options.tolist()])
            if np.isfinite(cost).any():
                out[i] = options[int(np.argmin(cost))]
    return out


def _by_turn(graph: LaneGraph, options: IntArray, option: int, fallback: int) -> int:
    turn = STRAIGHT if option == LANE_FOLLOW else option
    match = [c for c in options.tolist() if graph.run_turn[graph.run[c]] == turn]
    return match[0] if match else fallback


def _next_target(targets: Targets, vehicle: int, fleet: Fleet, row: int, planned: IntArray) -> int:
    """The first target from the cursor on that the planned path does not pass yet."""
    mine = targets.by_vehicle.get(vehicle)
    if mine is None:
        return -1
    for t in mine[int(fleet.i("path_cursor")[row]) :].tolist():
        if not (planned == t).any():
            return int(t)
    return -1


def lane_wishes(graph: LaneGraph, fleet: Fleet, targets: Targets) -> IntArray:
    """Per row: 1 (left) / 2 (right) where only the next lane over leads to the next target.

    A target on a parallel lane, or behind a turn that only another lane takes, cannot be
    reached by branch choices alone; the vehicle then asks for a lane change that way.
    """
    want = np.zeros(len(fleet), np.int64)
    for vehicle in targets.by_vehicle:
        row = fleet.row_of(vehicle)
        if row < 0:
            continue
        planned = fleet.path[row, : fleet.i("length")[row]]
        goal = _next_target(targets, vehicle, fleet, row, planned)
        if goal < 0:
            continue
        dist = targets.distance_to(graph, goal)
        here = int(planned[0])
        own = dist[graph.run[here]]
        for side, neighbour in ((1, graph.left), (2, graph.right_lane)):
            other = int(neighbour[here])
            if other >= 0 and dist[graph.run[other]] + LANE_GAIN_M < own:
                want[row] = side
                break
    return want


def passed(
    graph: LaneGraph,
    fleet: Fleet,
    knobs: Knobs,
    targets: Targets,
    old_path: IntArray,
    step: IntArray,
    xy: FloatArray,
) -> None:
    """Move the cursors past the branches and targets the vehicles just left behind."""
    dropped = np.arange(old_path.shape[1])[None, :] < step[:, None]
    routed = knobs.b("has_route")
    if routed.any():
        count = (junction_branches(graph)[old_path] & dropped).sum(axis=1)
        fleet.i("route_cursor")[routed] += count[routed]
    for vehicle, mine in targets.by_vehicle.items():
        row = fleet.row_of(vehicle)
        if row < 0:
            continue
        cursor = int(fleet.i("path_cursor")[row])
        while cursor < len(mine):
            t = int(mine[cursor])
            near = float(np.hypot(*(graph.pos[t, :2] - xy[row]))) < REACHED_M
            if not (near or (old_path[row][dropped[row]] == t).any()):
                break
            cursor += 1
        fleet.i("path_cursor")[row] = cursor


def refresh(
    graph: LaneGraph, fleet: Fleet, per: list[VehicleSettings], knobs: Knobs, targets: Targets
) -> IntArray:
    """Rows whose route or path changed since the last step: cursors reset, to re-plan."""
    route_seen, path_seen = fleet.i("route_seen"), fleet.i("path_seen")
    changed = (knobs.f("route_version") != route_seen) | (knobs.f("path_version") != path_seen)
    if not changed.any():
        return np.zeros(0, dtype=np.int64)
    fresh = []
    for row in np.flatnonzero(changed).tolist():
        v = per[row]
        if v.route_version != route_seen[row]:
            route_seen[row] = v.route_version
            fleet.i("route_cursor")[row] = 0
            fresh.append(row)
        if v.path_version != path_seen[row]:
            path_seen[row] = v.path_version
            fleet.i("path_cursor")[row] = 0
            targets.assign(graph, int(fleet.ids[row]), v.path)
            fresh.append(row)
    return np.unique(np.array(fresh, dtype=np.int64))
