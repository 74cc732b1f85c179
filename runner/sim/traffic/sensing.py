"""What the driving step reads from the world each step, and the controls it writes.

Plain functions over the fleet's rows: the actors' poses and speeds (`State`), the
obstacle table, the wanted speed (limit, TM percentages, curves ahead), and what lies
ahead of every row (`Look`), so that `driver.py` keeps to the order of the step.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from runner.sim.traffic import control, junctions, obstacles, paths
from runner.sim.traffic.fleet import BoolArray, FloatArray, IntArray
from runner.sim.traffic.parameters import Knobs
from runner.sim.world.actors import Actor, ActorKind, TrafficLightState, VehicleControl


@dataclass(frozen=True, slots=True)
class Look:
    """What lies ahead of every row this step."""

    gap: FloatArray  # to the binding constraint
    lead: FloatArray  # its speed
    ahead: obstacles.Ahead
    held: BoolArray  # a stop (light, junction, dead end) binds, or is just beyond the leader
    obstacles: obstacles.Obstacles
    own: IntArray


def _state_row(a: Actor) -> tuple[float, ...]:
    """x, y, yaw, pitch, speed, vx, vy, speed limit, 1.0 when at a red light (else 0.0)."""
    t, v, vel = a.transform, a.vehicle, a.velocity
    if v is None:
        return (t.x, t.y, t.yaw, t.pitch, 0.0, vel[0], vel[1], 30.0, 0.0)
    red = v.traffic_light_id and v.traffic_light_state == TrafficLightState.RED
    return (
        t.x,
        t.y,
        t.yaw,
        t.pitch,
        v.speed_mps,
        vel[0],
        vel[1],
        v.speed_limit_kmh,
        1.0 if red else 0.0,
    )


class State:
    """Positions, headings and speeds of the fleet's actors this step."""

    def __init__(self, actors: Sequence[Actor]) -> None:
        values = itertools.chain.from_iterable(map(_state_row, actors))
        data = np.fromiter(values, np.float64, 9 * len(actors)).reshape(len(actors), 9)
        self.xy = data[:, 0:2]
        self.yaw = np.radians(data[:, 2])
        self.pitch = np.radians(data[:, 3])
        self.speed = data[:, 4]
        moving = np.hypot(data[:, 5], data[:, 6]) > 1.0
        self.heading = np.where(moving, np.arctan2(data[:, 6], data[:, 5]), self.yaw)
        self.limit_kmh = data[:, 7]
        self.world_red = data[:, 8] > 0.5

    @classmethod
    def of(cls, actors: Sequence[Actor]) -> State:
        return cls(actors)


def wanted_speed(
    state: State,
    knobs: Knobs,
    geom: paths.PathGeometry,
) -> FloatArray:
    pct = knobs.f("speed_pct")
    desired = knobs.f("desired_kmh")
    kmh = np.where(np.isnan(desired), state.limit_kmh * (1.0 - pct / 100.0), desired)
    return np.minimum(kmh / 3.6, curve_speed(geom, state.speed))


LATERAL_COMFORT_MPS2 = 2.5


def curve_speed(geom: paths.PathGeometry, speed: FloatArray) -> FloatArray:
    """Highest speed from which every curve ahead is reached at comfortable lateral accel."""
    n = len(geom.along)
    out = np.empty(n)
    if n:
        _curve_speed_kernel(
            geom.along, geom.turn, geom.valid, LATERAL_COMFORT_MPS2, control.COMFORT_DECEL_MPS2, out
        )
    return out


@numba.njit(cache=True, nogil=True)
def _curve_speed_kernel(
    along: FloatArray,
    turn: FloatArray,
    valid: BoolArray,
    lateral_mps2: float,
    decel_mps2: float,
    out: FloatArray,
) -> None:
    """Per row: min over valid entries k >= 1 of sqrt(v_curve(k)^2 + 2 b d(k)).

    Curvature of hop k is |turn| over its length (at least 0.2 m), smoothed by the max with
    the hop before it (hop 0 with the last hop, as a wrapped roll); v_curve^2 = a / curvature.
    """
    n, k_max = along.shape
    hops = k_max - 1
    for r in range(n):
        best = np.inf
        last = abs(turn[r, hops - 1]) / max(along[r, hops] - along[r, hops - 1], 0.2)
        before = last
        for k in range(hops):
            c = abs(turn[r, k]) / max(along[r, k + 1] - along[r, k], 0.2)
            smooth = max(c, before)
            before = c
            if valid[r, k + 1]:
                v2 = lateral_mps2 / max(smooth, 1e-4)
                v = np.sqrt(v2 + 2.0 * decel_mps2 * max(along[r, k + 1], 0.0))
                if v < best:
                    best = v
        out[r] = best


def obstacle_table(actors: object, fleet_ids: IntArray) -> tuple[obstacles.Obstacles, IntArray]:
    """Vehicles and walkers of the episode, and each fleet row's own obstacle row."""
    solid = [
        a
        for a in actors  # type: ignore[attr-defined]
        if a.kind in (ActorKind.VEHICLE, ActorKind.WALKER)
        and a.collisions_enabled
        and not a.parent_id
    ]
    values = itertools.chain.from_iterable(
        (
            a.id,
            a.transform.x,
            a.transform.y,
            a.transform.yaw,
            a.bounding_box.center[0] + a.bounding_box.extent[0],
            a.bounding_box.extent[0] - a.bounding_box.center[0],
            a.bounding_box.extent[1],
            a.velocity[0],
            a.velocity[1],
            a.kind is ActorKind.WALKER,
        )
        for a in solid
    )
    data = np.fromiter(values, np.float64, 10 * len(solid)).reshape(len(solid), 10)
    ids = data[:, 0].astype(np.int64)
    obs = obstacles.Obstacles(
        ids=ids,
        xy=data[:, 1:3],
        yaw_rad=np.radians(data[:, 3]),
        front_m=data[:, 4],
        rear_m=data[:, 5],
        half_width_m=data[:, 6],
        velocity=data[:, 7:9],
        walker=data[:, 9] > 0.5,
    )
    order = np.argsort(ids)
    pos = np.searchsorted(ids[order], fleet_ids)
    own = np.where(pos < len(ids), order[np.minimum(pos, len(ids) - 1)], -1)
    return obs, own


def no_room(
    approach: junctions.Approach,
    geom: paths.PathGeometry,
    ahead: obstacles.Ahead,
    length_m: FloatArray,
) -> BoolArray:
    """Rows whose lane beyond the next junction has a queue reaching back into it."""
    rows = np.arange(len(length_m))
    has_exit = approach.exit_k >= 0
    exit_along = np.where(has_exit, geom.along[rows, np.maximum(approach.exit_k, 0)], np.inf)
    queue = ahead.along_m < exit_along + length_m + junctions.EXIT_ROOM_M
    return has_exit & queue & (ahead.speed < junctions.QUEUE_SPEED_MPS)


def write_controls(
    actors: Sequence[Actor], throttle: FloatArray, brake: FloatArray, steer: FloatArray
) -> None:
    for actor, t, b, s in zip(
        actors, throttle.tolist(), brake.tolist(), steer.tolist(), strict=True
    ):
        if actor.vehicle is not None:
            actor.vehicle.control = VehicleControl(t, s, b)  # positional: a little faster
