"""Each vehicle's road this step: the speed limit under it and the traffic light it faces.

`RoadIndex` (road_state.py) answers where on the road a point is; this module turns that
into what CARLA's vehicles report (`get_speed_limit`, `get_traffic_light`,
`is_at_traffic_light`), with the light's geometry for every vehicle in one numba kernel.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress

import numba
import numpy as np

from runner.sim.world.actors import Actor, TrafficLightState
from runner.sim.world.road_state import (
    APPROACH_M,
    BoolArray,
    FloatArray,
    IntArray,
    RoadIndex,
)
from runner.sim.world.traffic_lights import LightSpec

_DEG_TO_RAD = np.pi / 180.0  # exactly what np.radians multiplies by
_GREEN = TrafficLightState.GREEN  # an Enum member read off its class costs ~0.1 us in 3.11


PLAN_DECEL_MPS2 = 6.0  # a vehicle is told about the light once it needs this much to stop
HARD_DECEL_MPS2 = 8.0  # beyond this it cannot stop any more: it is let through (yellow)
STOP_MARGIN_M = 1.5  # front bumper stops about this far before the line
MIN_REACH_M = 4.0  # a (nearly) stopped vehicle this close to the line is at the light
OVERSHOOT_M = 1.0  # still "at the light" this far past the line (stopped a bit late)
ALIGNED_COS = 0.5  # vehicle heading vs lane direction; wrong-way vehicles are ignored


@dataclass(slots=True)
class _Approach:
    slot: int
    committed: bool  # too close to stop when the light turned: let through


class RoadState:
    """Per-tick speed limit and traffic-light fields of `VehicleState`.

    CARLA reports a light while the vehicle overlaps a small trigger box before the stop
    line. The TM then brakes fully (brake 1.0) while the light is not green. A fixed box
    makes fast vehicles overshoot into the junction, so here the zone starts where the
    vehicle would need PLAN_DECEL_MPS2 to stop STOP_MARGIN_M before the line, and once
    entered it holds until the front passes the line (CARLA's overlap hysteresis).
    """

    def __init__(
        self, index: RoadIndex, lights: Sequence[LightSpec], light_actors: Mapping[str, Actor]
    ) -> None:
        self._index = index
        self._light_actor = [light_actors.get(spec.opendrive_id) for spec in lights]
        self._has_light = np.array(
            [a is not None and a.traffic_light is not None for a in self._light_actor], dtype=bool
        )
        self._memo: dict[int, _Approach] = {}

    def update(self, vehicles: Sequence[Actor]) -> None:
        """Speed limit and light fields of every vehicle; Python only for those at a light."""

        live = [a for a in vehicles if a.vehicle is not None]
        if not live:
            self._memo.clear()
            return
        values = itertools.chain.from_iterable(
            (
                a.transform.x,
                a.transform.y,
                a.transform.z,
                a.transform.yaw,
                a.bounding_box.center[0] + a.bounding_box.extent[0],
            )
            for a in live
        )
        data = np.fromiter(values, np.float64, 5 * len(live)).reshape(len(live), 5)
        index = self._index
        sample = index.query(data[:, :3]).index
        n = len(live)
        limit, front_m = np.empty(n), np.empty(n)
        slot, check = np.empty(n, dtype=np.int64), np.empty(n, dtype=bool)
        _light_geometry_kernel(
            data,
            sample,
            index.speed_limit_kmh,
            index.light_slot,
            index.light_dist_m,
            index.forward,
            index.position,
            self._has_light,
            limit,
            slot,
            check,
            front_m,
        )
        signed = limit == limit  # not NaN: a speed sign was passed on this lane
        for actor, lim in zip(compress(live, signed.tolist()), limit[signed].tolist(), strict=True):
            state = actor.vehicle
            assert state is not None
            state.speed_limit_kmh = lim
        near = check.tolist()
        at_light: set[int] = set()
        for actor, sl, front in zip(
            compress(live, near),
            slot[check].tolist(),
            front_m[check].tolist(),
            strict=True,
        ):
            state = actor.vehicle
            assert state is not None
            if not self._at_light(actor.id, sl, front, state.speed_mps):
                state.traffic_light_id = 0
                state.traffic_light_state = _GREEN
                continue
            light_actor = self._light_actor[sl]
            assert light_actor is not None and light_actor.traffic_light is not None
            state.traffic_light_id = light_actor.id
            state.traffic_light_state = light_actor.traffic_light.state
            at_light.add(actor.id)
        for actor in compress(live, (~check).tolist()):
            state = actor.vehicle
            assert state is not None
            state.traffic_light_id = 0
            state.traffic_light_state = _GREEN
        # memo: only vehicles at a light keep theirs (others left it, or left the world)
        for gone in self._memo.keys() - at_light:
            del self._memo[gone]

    def _at_light(self, actor_id: int, slot: int, front_m: float, speed_mps: float) -> bool:
        memo = self._memo.get(actor_id)
        speed = max(0.0, speed_mps)
        cannot_stop = front_m < speed * speed / (2.0 * HARD_DECEL_MPS2) - OVERSHOOT_M
        light = self._light_actor[slot]
        red = (
            light is not None
            and light.traffic_light is not None
            and (light.traffic_light.state != _GREEN)
        )
        if memo is None or memo.slot != slot:
            reach = max(MIN_REACH_M, speed * speed / (2.0 * PLAN_DECEL_MPS2) + STOP_MARGIN_M)
            if front_m > reach or front_m < -OVERSHOOT_M:
                self._memo.pop(actor_id, None)
                return False
            memo = self._memo[actor_id] = _Approach(slot, committed=red and cannot_stop)
        elif front_m < -OVERSHOOT_M or front_m > APPROACH_M:
            return False
        if red and cannot_stop:
            memo.committed = True
        return not memo.committed


@numba.njit(cache=True, nogil=True)
def _light_geometry_kernel(
    data: FloatArray,
    sample: IntArray,
    speed_limit_kmh: FloatArray,
    light_slot: IntArray,
    light_dist_m: FloatArray,
    forward: FloatArray,
    position: FloatArray,
    has_light: BoolArray,
    limit: FloatArray,
    slot: IntArray,
    check: BoolArray,
    front_m: FloatArray,
) -> None:
    """Per vehicle row (x, y, z, yaw [deg], origin-to-front [m]) on lane sample `sample`.

    limit: the sample's speed limit (NaN off the road); slot: its light (-1); check: a
    wired light and a heading along the lane; front_m: front bumper to the stop line.
    """
    for i in range(len(data)):
        q = sample[i]
        on_road = q >= 0
        at = max(q, 0)
        limit[i] = speed_limit_kmh[at] if on_road else np.nan
        sl = light_slot[at] if on_road else -1
        slot[i] = sl
        f0, f1 = forward[at, 0], forward[at, 1]
        yaw = data[i, 3] * _DEG_TO_RAD
        aligned = np.cos(yaw) * f0 + np.sin(yaw) * f1 >= ALIGNED_COS
        along = (data[i, 0] - position[at, 0]) * f0
        along += (data[i, 1] - position[at, 1]) * f1
        front_m[i] = light_dist_m[at] - along - data[i, 4]
        check[i] = 0 <= sl < len(has_light) and has_light[sl] and aligned
