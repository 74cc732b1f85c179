"""Vehicle lights for vehicles with `update_vehicle_lights(vehicle, True)`, as CARLA's TM sets them.

CARLA 0.9.16's VehicleLightStage, rule for rule: position lights and low beams from sunset
to dawn (sun altitude below 15 or above 165 degrees), position lights alone in the hour
around them (below 35 or above 145), both under heavy rain (precipitation > 80), those and
the fog lights in fog (fog_density > 20); brake lights on hard braking (brake > 0.5);
a blinker when the path turns left or right at a junction within BLINKER_M (CARLA: 15 m
of buffer), or during a lane change. The other bits (high beam, reverse, interior,
specials) stay as the client set them. The client reads the result with
`vehicle.get_light_state()`.
"""

from __future__ import annotations

import numpy as np

from runner.sim.traffic.fleet import BoolArray, Fleet, FloatArray
from runner.sim.traffic.graph import LaneGraph
from runner.sim.traffic.lanechange import LEFT, RIGHT, in_junction
from runner.sim.traffic.paths import PathGeometry

POSITION, LOW_BEAM, BRAKE, RIGHT_BLINKER, LEFT_BLINKER, FOG = 1, 2, 8, 16, 32, 128
MANAGED = POSITION | LOW_BEAM | BRAKE | RIGHT_BLINKER | LEFT_BLINKER | FOG
SUN_BEFORE_DAWN, SUN_AFTER_SUNSET = 15.0, 165.0
SUN_JUST_AFTER_DAWN, SUN_JUST_BEFORE_SUNSET = 35.0, 145.0
HEAVY_PRECIPITATION, FOG_DENSITY = 80.0, 20.0
HARD_BRAKE = 0.5
BLINKER_M = 15.0
TURN_LEFT, TURN_RIGHT = 1, 2


def weather_bits(weather: dict[str, float]) -> int:
    """The bits the weather asks for, the same for every vehicle."""
    sun = float(weather.get("sun_altitude_angle", 45.0))
    bits = 0
    if sun < SUN_BEFORE_DAWN or sun > SUN_AFTER_SUNSET:
        bits |= POSITION | LOW_BEAM
    elif sun < SUN_JUST_AFTER_DAWN or sun > SUN_JUST_BEFORE_SUNSET:
        bits |= POSITION
    if float(weather.get("precipitation", 0.0)) > HEAVY_PRECIPITATION:
        bits |= POSITION | LOW_BEAM
    if float(weather.get("fog_density", 0.0)) > FOG_DENSITY:
        bits |= POSITION | LOW_BEAM | FOG
    return bits


def update(
    graph: LaneGraph,
    fleet: Fleet,
    geom: PathGeometry,
    wanted: BoolArray,
    brake: FloatArray,
    weather: dict[str, float],
) -> None:
    """Write the light state of the `wanted` rows."""
    rows = np.flatnonzero(wanted)
    if len(rows) == 0:
        return
    path, along = fleet.path[rows], geom.along[rows]
    turn = graph.run_turn[graph.run[path]]
    near = geom.valid[rows] & (along < BLINKER_M) & in_junction(graph)[path]
    first = np.argmax(near, axis=1)
    has = near[np.arange(len(rows)), first]
    next_turn = np.where(has, turn[np.arange(len(rows)), first], 0)
    lc = fleet.i("lc_dir")[rows]
    left = (next_turn == TURN_LEFT) | (lc == LEFT)
    right = ((next_turn == TURN_RIGHT) | (lc == RIGHT)) & ~left
    bits = np.full(len(rows), weather_bits(weather), np.int64)
    bits |= np.where(brake[rows] > HARD_BRAKE, BRAKE, 0)
    bits |= np.where(left, LEFT_BLINKER, 0) | np.where(right, RIGHT_BLINKER, 0)
    for row, b in zip(rows.tolist(), bits.tolist(), strict=True):
        state = fleet.actors[row].vehicle
        if state is not None:
            state.light_state = (state.light_state & ~MANAGED) | b
