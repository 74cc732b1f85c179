"""Stop signs: a vehicle comes to a full stop before a junction its lane's stop sign guards.

The OpenDRIVE stop signals (type 206) are the map's landmarks; each names its road, s and
the lanes it is valid for. On a junction's connecting lane (where Town05 puts them) the
lane run entering that connection is marked; on an ordinary lane, the lane is followed to
the next junction and the run entering it is marked. A vehicle approaching such an entry
stops at it (front STOP_MARGIN_M short), stands STAND_S, and may then go on (junction
admission still orders it among the others); one roll of `ignore_signs_percentage` per
sign approached lets it drive through instead. Of the CARLA towns here only Town05 has
stop signs (Town01-04 carry none in their .xodr); the built-in towns have none either.
Yield signs (205) are not acted on.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from runner.sim.traffic import paths
from runner.sim.traffic.fleet import BoolArray, Fleet, FloatArray
from runner.sim.traffic.graph import LaneGraph
from runner.sim.traffic.junctions import Approach
from runner.sim.traffic.parameters import Knobs
from runner.sim.world.loaded_map import LoadedMap

STOP_TYPE = "206"
WALK_LIMIT = 120  # samples followed from a sign to its junction
STOP_MARGIN_M = 1.0
STAND_S = 1.0
STOPPED_MPS = 0.3
AT_LINE_M = 4.0


@functools.lru_cache(maxsize=4)
def stop_entries(loaded: LoadedMap, graph: LaneGraph) -> BoolArray:
    """Per run: the run enters a junction through a stop sign."""
    marked = np.zeros(len(graph.run_first), dtype=bool)
    carla_map: Any = loaded.carla_map
    for mark in carla_map.get_all_landmarks():
        if mark.type != STOP_TYPE:
            continue
        for low, high in mark.get_lane_validities():
            for lane in range(int(low), int(high) + 1):
                if lane != 0:
                    _mark_from(graph, carla_map, mark.road_id, lane, mark.s, marked)
    return marked


def _mark_from(
    graph: LaneGraph, carla_map: Any, road: int, lane: int, s: float, marked: BoolArray
) -> None:
    wp = carla_map.get_waypoint_xodr(int(road), int(lane), float(s))
    if wp is None:
        return
    loc, yaw = wp.transform.location, wp.transform.rotation.yaw
    found = paths.locate(graph, np.array([[loc.x, loc.y]]), np.radians([yaw]))
    at = int(found[0])
    inside = graph.in_junction
    if at >= 0 and inside[at]:  # the sign sits on the junction's connecting lane
        entry = int(graph.run_entry[graph.run[at]])
        if entry >= 0:
            marked[entry] = True
        return
    for _ in range(WALK_LIMIT):
        if at < 0 or inside[at]:
            return
        nxt = graph.successors(at)
        if len(nxt) == 0:
            return
        if any(inside[n] for n in nxt.tolist()):
            marked[graph.run[at]] = True
            return
        at = int(nxt[0])


def stop_gaps(
    graph: LaneGraph,
    stops: BoolArray,
    fleet: Fleet,
    approach: Approach,
    speed: FloatArray,
    knobs: Knobs,
    rng: np.random.Generator,
    dt_s: float,
) -> FloatArray:
    """Gap to the stop line of each row still owing its stop sign a stop (inf: none)."""
    n = len(fleet)
    gap = np.full(n, np.inf)
    if not stops.any():
        return gap
    rows = np.arange(n)
    has = approach.entry_k > 0
    before = fleet.path[rows, np.maximum(approach.entry_k - 1, 0)]
    run = np.where(has, graph.run[before], -1)
    guarded = has & stops[np.maximum(run, 0)]
    served = fleet.i("sign_run")
    owing = guarded & (served != run)
    fresh = owing & (fleet.i("sign_seen") != run)
    if fresh.any():
        pct = knobs.f("ignore_signs_pct")[fresh] / 100.0
        fleet.b("ignore_sign")[fresh] = rng.random(int(fresh.sum())) < pct
        fleet.i("sign_seen")[fresh] = run[fresh]
    skip = owing & fleet.b("ignore_sign")
    served[skip] = run[skip]
    owing &= ~skip
    standing = owing & (speed < STOPPED_MPS) & (approach.entry_m < AT_LINE_M)
    wait = fleet.f("sign_wait_s")
    wait[:] = np.where(standing, wait + dt_s, 0.0)
    done = standing & (wait >= STAND_S)
    served[done] = run[done]
    owing &= ~done
    gap[owing] = np.maximum(approach.entry_m[owing] - STOP_MARGIN_M, 0.0)
    return gap
