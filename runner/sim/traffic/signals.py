"""Traffic lights on each vehicle's path: where to stop, and whether to.

The world's `RoadIndex` marks every lane sample within 40 m of a stop line with the light
controlling it and the distance to the line; a path point on such a sample puts that line
ahead of the vehicle. Red: stop unless the vehicle could not (it would need more than the
world's own "cannot stop" deceleration, `road_state.HARD_DECEL_MPS2`, the same rule by
which the world stops reporting it at the light). Yellow: go only if the front crosses
the line well before red. Whatever the rule says, a vehicle the world reports at a red
light stops: that is what `vehicle.is_at_traffic_light()` shows a client.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from runner.sim.traffic.fleet import BoolArray, FloatArray, IntArray
from runner.sim.traffic.graph import LaneGraph
from runner.sim.traffic.paths import PathGeometry
from runner.sim.world.actors import Actor, TrafficLightState
from runner.sim.world.vehicle_road import HARD_DECEL_MPS2

STOP_MARGIN_M = 1.0  # front bumper stops this far before the line
PASSED_M = -0.5  # front this far past the line: the light is behind
YELLOW_MARGIN_S = 0.5


def light_table(lights: Sequence[Actor | None]) -> tuple[IntArray, FloatArray]:
    """State per light slot and yellow time left [s] (GREEN for a missing actor)."""
    state = np.full(len(lights), int(TrafficLightState.GREEN), dtype=np.int64)
    yellow_left = np.zeros(len(lights))
    for slot, actor in enumerate(lights):
        light = actor.traffic_light if actor is not None else None
        if light is not None:
            state[slot] = int(light.state)
            yellow_left[slot] = light.yellow_time - light.elapsed_time
    return state, yellow_left


def next_light(graph: LaneGraph, geom: PathGeometry, path: IntArray) -> tuple[IntArray, FloatArray]:
    """(slot, distance from the vehicle to its stop line) of the first light ahead, -1/inf."""
    slot = np.where(geom.valid, graph.light_slot[path], -1)
    has = slot >= 0
    k = np.argmax(has, axis=1)
    rows = np.arange(len(path))
    found = has[rows, k]
    line = geom.along[rows, k] + graph.light_dist_m[path[rows, k]]
    return np.where(found, slot[rows, k], -1), np.where(found, line, np.inf)


def light_gaps(
    slot: IntArray,
    line_m: FloatArray,
    front_m: FloatArray,
    speed: FloatArray,
    state: IntArray,
    yellow_left_s: FloatArray,
    ignore: BoolArray,
    world_red: BoolArray,
) -> FloatArray:
    """Gap from the front bumper to the point to stop at, inf where the vehicle goes on."""
    gap = line_m - front_m - STOP_MARGIN_M
    has = slot >= 0
    s = np.where(has, state[np.maximum(slot, 0)], int(TrafficLightState.GREEN))
    v = np.maximum(speed, 0.0)
    reachable = v * v <= 2.0 * HARD_DECEL_MPS2 * np.maximum(gap + STOP_MARGIN_M, 0.01)
    ahead = gap + STOP_MARGIN_M > PASSED_M
    red = s == int(TrafficLightState.RED)
    yellow = s == int(TrafficLightState.YELLOW)
    clears = (gap + STOP_MARGIN_M) / np.maximum(v, 0.1) + YELLOW_MARGIN_S < yellow_left_s[
        np.maximum(slot, 0)
    ]
    stop = has & ahead & ((red & reachable) | (yellow & reachable & ~clears) | world_red)
    return np.where(stop & ~ignore, np.maximum(gap, 0.0), np.inf)
