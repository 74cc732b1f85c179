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


_RED = TrafficLightState.RED  # an Enum member read off its class costs ~0.1 us in 3.11
_COLUMNS = 10  # what `_mover_row` returns


def _mover_row(a: Actor) -> tuple[float, ...]:
    """x, y, yaw, pitch, vx, vy, speed, speed limit, at a red light, solid (0.0 / 1.0)."""
    t, v, vel = a.transform, a.vehicle, a.velocity
    solid = a.collisions_enabled and not a.parent_id
    if v is None:  # a walker
        return (t.x, t.y, t.yaw, t.pitch, vel[0], vel[1], 0.0, 30.0, 0.0, solid)
    red = v.traffic_light_id and v.traffic_light_state == _RED
    return (
        t.x,
        t.y,
        t.yaw,
        t.pitch,
        vel[0],
        vel[1],
        v.speed_mps,
        v.speed_limit_kmh,
        red,
        solid,
    )


class State:
    """Positions, headings and speeds of the fleet's actors this step."""

    def __init__(self, data: FloatArray) -> None:
        """`data`: the fleet's `_mover_row`s, one row per fleet row."""
        self.xy = data[:, 0:2]
        self.yaw = np.radians(data[:, 2])
        self.pitch = np.radians(data[:, 3])
        self.speed = data[:, 6]
        moving = np.hypot(data[:, 4], data[:, 5]) > 1.0
        self.heading = np.where(moving, np.arctan2(data[:, 5], data[:, 4]), self.yaw)
        self.limit_kmh = data[:, 7]
        self.world_red = data[:, 8] > 0.5


@dataclass(frozen=True, slots=True)
class _Movers:
    """What does not change while the same vehicles and walkers live: ids and boxes."""

    actors: list[Actor]  # `Episode.of_kind`'s list: the same object until one comes or goes
    ids: IntArray
    order: IntArray  # argsort of ids
    front_m: FloatArray  # origin to front and to rear along the heading
    rear_m: FloatArray
    half_width_m: FloatArray
    walker: BoolArray


class WorldReader:
    """One pass over the vehicles and walkers each step: the fleet's `State` and obstacles.

    Both used to read the same actors separately; the boxes are read only when the set of
    actors changes.
    """

    def __init__(self) -> None:
        self._movers: _Movers | None = None

    def _movers_of(self, actors: list[Actor]) -> _Movers:
        movers = self._movers
        if movers is None or movers.actors is not actors:
            ids = np.array([a.id for a in actors], dtype=np.int64)
            box = np.array(
                [(*a.bounding_box.center, *a.bounding_box.extent) for a in actors], np.float64
            ).reshape(len(actors), 6)
            walker = np.array([a.kind is ActorKind.WALKER for a in actors], dtype=bool)
            movers = self._movers = _Movers(
                actors,
                ids,
                np.argsort(ids),
                box[:, 0] + box[:, 3],
                box[:, 3] - box[:, 0],
                box[:, 4],
                walker,
            )
        return movers

    def read(
        self, actors: list[Actor], fleet_ids: IntArray
    ) -> tuple[State, obstacles.Obstacles, IntArray]:
        """`actors`: every vehicle and walker; returns the fleet's state, the obstacles
        (the solid ones: colliding, not attached) and each fleet row's obstacle row (-1)."""
        movers = self._movers_of(actors)
        n = len(actors)
        values = itertools.chain.from_iterable(map(_mover_row, actors))
        data = np.fromiter(values, np.float64, _COLUMNS * n).reshape(n, _COLUMNS)
        pos = np.searchsorted(movers.ids[movers.order], fleet_ids)
        row = movers.order[np.minimum(pos, max(n - 1, 0))] if n else pos
        if len(fleet_ids) and not np.array_equal(movers.ids[row], fleet_ids):
            raise RuntimeError("a fleet vehicle is not among the episode's vehicles")
        solid = data[:, 9] > 0.5
        obs = obstacles.Obstacles(
            ids=movers.ids[solid],
            xy=data[solid, 0:2],
            yaw_rad=np.radians(data[solid, 2]),
            front_m=movers.front_m[solid],
            rear_m=movers.rear_m[solid],
            half_width_m=movers.half_width_m[solid],
            velocity=data[solid, 4:6],
            walker=movers.walker[solid],
        )
        own = np.where(solid[row], np.cumsum(solid)[row] - 1, -1) if n else row
        return State(data[row]), obs, own


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
