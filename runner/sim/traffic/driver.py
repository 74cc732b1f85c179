"""One Traffic Manager step for every registered vehicle of every port, before physics.

Order: follow the world (episode, map, registrations), keep each path under its vehicle
and grow it, look ahead (obstacles, lights, junctions, dead ends), choose an acceleration
(IDM) and a steering input (pure pursuit), and write the controls. Lane changes, hybrid
physics and vehicle lights are separate modules called from here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from runner.sim.traffic import control, junctions, obstacles, paths, signals
from runner.sim.traffic.fleet import BoolArray, Fleet, FloatArray, IntArray
from runner.sim.traffic.graph import LaneGraph, lane_graph
from runner.sim.traffic.parameters import TmSettings, VehicleSettings
from runner.sim.traffic.world import TrafficWorld
from runner.sim.world.actors import Actor, ActorKind, TrafficLightState, VehicleControl

log = logging.getLogger("runner.sim.traffic")

STOP_GAP_M = 0.5  # IDM's minimum gap to a stop line or dead end


class PortView(Protocol):
    port: int
    settings: TmSettings
    members: set[int]


class Driver:
    """Holds the fleet and what persists between steps (junction reservations, RNG)."""

    def __init__(self, world: TrafficWorld) -> None:
        self._world = world
        self._fleet = Fleet()
        self._graph: LaneGraph | None = None
        self._episode_id: int | None = None
        self._rng = np.random.default_rng()
        self._admission = junctions.Admission()

    # -- bookkeeping ---------------------------------------------------------------------
    def _follow_world(self, seed: int | None) -> LaneGraph:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._world.reset_traffic_lights()
        episode = self._world.episode()
        if episode.id != self._episode_id or self._graph is None:
            self._graph = lane_graph(self._world.loaded_map())
            self._episode_id = episode.id
            self._fleet = Fleet()
            self._admission.clear()
        return self._graph

    def _sync(self, graph: LaneGraph, ports: Sequence[PortView]) -> dict[int, TmSettings]:
        """Drop rows of destroyed or unregistered vehicles, add newly registered ones."""
        actors = self._world.episode().actors
        owner = {vid: p for p in ports for vid in p.members}
        fleet = self._fleet
        ids = fleet.ids.tolist()
        keep = np.array(
            [
                vid in owner and actors.get(vid) is a
                for vid, a in zip(ids, fleet.actors, strict=True)
            ],
            dtype=bool,
        )
        if not keep.all():
            for vid in np.asarray(ids)[~keep].tolist():
                self._admission.forget(int(vid))
            fleet.keep(keep)
        present = set(fleet.ids.tolist())
        new = [
            actors[vid]
            for vid in sorted(owner)
            if vid not in present and vid in actors and actors[vid].kind is ActorKind.VEHICLE
        ]
        if new:
            xy = np.array([(a.transform.x, a.transform.y) for a in new])
            yaw = np.radians([a.transform.yaw for a in new])
            for actor, sample in zip(new, paths.locate(graph, xy, yaw).tolist(), strict=True):
                if sample >= 0:
                    fleet.add(actor, owner[actor.id].port, sample)
        by_port = {p.port: p.settings for p in ports}
        return {
            int(vid): by_port[int(port)]
            for vid, port in zip(fleet.ids, fleet.i("port"), strict=True)
        }

    # -- the step --------------------------------------------------------------------------
    def step(self, dt_s: float, ports: Sequence[PortView], seed: int | None) -> None:
        graph = self._follow_world(seed)
        settings_of = self._sync(graph, ports)
        fleet = self._fleet
        if len(fleet) == 0 or dt_s <= 0.0:
            return
        per = [settings_of[int(v)].vehicle(int(v)) for v in fleet.ids]
        tm = [settings_of[int(v)] for v in fleet.ids]
        state = _State.of(fleet.actors)
        offset = np.array([t.lane_offset(v) for t, v in zip(tm, per, strict=True)])
        self._keep_paths(graph, state, offset)
        geom = paths.geometry(graph, fleet, state.xy, offset)
        gap, lead = self._gaps(graph, geom, state, per, tm, dt_s)
        wanted = _wanted_speed(state, tm, per, graph, geom)
        lead_m = np.array([t.lead_distance(v) for t, v in zip(tm, per, strict=True)])
        accel = control.idm_accel(state.speed, wanted, gap, lead, lead_m, fleet.f("max_accel"))
        throttle, brake = control.pedals(
            accel,
            state.speed,
            state.pitch,
            fleet.f("max_accel"),
            fleet.f("max_brake"),
            fleet.f("top_speed"),
        )
        steer = self._steer(geom, state)
        _write(fleet.actors, throttle, brake, steer)

    def _keep_paths(self, graph: LaneGraph, state: _State, offset: FloatArray) -> None:
        fleet = self._fleet
        off = paths.advance(graph, fleet, state.xy, offset)
        if off.any():
            rows = np.flatnonzero(off)
            found = paths.locate(graph, state.xy[rows], state.yaw[rows])
            ok = found >= 0
            paths.reset_rows(fleet, rows[ok], found[ok])
        paths.extend(graph, fleet, self._choose)

    def _choose(self, rows: IntArray, samples: IntArray) -> IntArray:
        graph = self._graph
        assert graph is not None
        count = graph.succ_start[samples + 1] - graph.succ_start[samples]
        pick = self._rng.integers(0, np.iinfo(np.int64).max, size=len(rows)) % count
        return graph.succ[graph.succ_start[samples] + pick]

    def _gaps(
        self,
        graph: LaneGraph,
        geom: paths.PathGeometry,
        state: _State,
        per: list[VehicleSettings],
        tm: list[TmSettings],
        dt_s: float,
    ) -> tuple[FloatArray, FloatArray]:
        """Gap to the nearest thing to stop behind (vehicle, walker, line, dead end), its speed."""
        fleet = self._fleet
        front = fleet.f("front_m")
        obs, own = _obstacles(self._world.episode().actors.values(), fleet.ids)
        ignore = self._ignore_mask(per, obs)
        ahead = obstacles.find_ahead(
            graph, geom, fleet.path, fleet.f("half_width_m"), own, obs, ignore
        )
        gap = ahead.along_m - front
        lead = ahead.speed.copy()
        slot, line = signals.next_light(graph, geom, fleet.path)
        state_tbl, yellow_left = signals.light_table(self._world.light_actors())
        ignore_light = self._light_rolls(slot, per)
        light_gap = signals.light_gaps(
            slot, line, front, state.speed, state_tbl, yellow_left, ignore_light, state.world_red
        )
        approach = junctions.approaches(graph, geom, fleet.path, front)
        room = _no_room(approach, geom, ahead, fleet.f("front_m") + fleet.f("rear_m"))
        may_enter = ~np.isfinite(light_gap) | (light_gap > approach.entry_m + 1.0)
        junction_gap = self._admission.step(
            graph,
            fleet.ids,
            fleet.path,
            state.xy,
            fleet.f("rear_m"),
            approach,
            state.speed,
            room,
            may_enter,
            dt_s,
        )
        end_gap = np.where(
            paths.dead_end(graph, fleet),
            geom.along[np.arange(len(fleet)), fleet.i("length") - 1] - front,
            np.inf,
        )
        stop_gap = np.minimum(np.minimum(light_gap, junction_gap), end_gap) - STOP_GAP_M
        use_stop = stop_gap < gap
        return np.where(use_stop, stop_gap, gap), np.where(use_stop, 0.0, lead)

    def _ignore_mask(self, per: list[VehicleSettings], obs: obstacles.Obstacles) -> BoolArray:
        n, m = len(per), len(obs.ids)
        ignore = np.zeros((n, m), dtype=bool)
        pv = np.array([v.ignore_vehicles_pct for v in per]) / 100.0
        pw = np.array([v.ignore_walkers_pct for v in per]) / 100.0
        roll = self._rng.random(n)
        ignore |= (roll < pv)[:, None] & ~obs.walker[None, :]
        ignore |= (roll < pw)[:, None] & obs.walker[None, :]
        column = {int(a): c for c, a in enumerate(obs.ids.tolist())}
        for row, v in enumerate(per):
            for other in v.ignored_actors:
                c = column.get(other)
                if c is not None:
                    ignore[row, c] = True
        return ignore

    def _light_rolls(self, slot: IntArray, per: list[VehicleSettings]) -> BoolArray:
        """One roll of ignore_lights_percentage per vehicle and light approached."""
        fleet = self._fleet
        seen = fleet.i("light_slot_seen")
        fresh = (slot >= 0) & (slot != seen)
        if fresh.any():
            pct = np.array([v.ignore_lights_pct for v in per])[fresh] / 100.0
            fleet.b("ignore_light")[fresh] = self._rng.random(int(fresh.sum())) < pct
            seen[fresh] = slot[fresh]
        return fleet.b("ignore_light") & (slot >= 0)

    def _steer(self, geom: paths.PathGeometry, state: _State) -> FloatArray:
        fleet = self._fleet
        reach = control.lookahead_m(state.speed)
        beyond = (geom.along >= reach[:, None]) & geom.valid
        k = np.where(beyond.any(axis=1), np.argmax(beyond, axis=1), fleet.i("length") - 1)
        target = geom.points[np.arange(len(fleet)), k]
        return control.steer_to(
            state.xy,
            state.heading,
            target,
            state.speed,
            fleet.f("wheelbase_m"),
            fleet.f("max_steer_rad"),
        )


class _State:
    """Positions, headings and speeds of the fleet's actors this step."""

    def __init__(self, actors: Sequence[Actor]) -> None:
        rows = [
            (
                a.transform.x,
                a.transform.y,
                a.transform.yaw,
                a.transform.pitch,
                a.vehicle.speed_mps if a.vehicle else 0.0,
                a.velocity[0],
                a.velocity[1],
                a.vehicle.speed_limit_kmh if a.vehicle else 30.0,
                1.0
                if a.vehicle
                and a.vehicle.traffic_light_id
                and a.vehicle.traffic_light_state == TrafficLightState.RED
                else 0.0,
            )
            for a in actors
        ]
        data = np.array(rows, dtype=np.float64).reshape(len(actors), 9)
        self.xy = data[:, 0:2]
        self.yaw = np.radians(data[:, 2])
        self.pitch = np.radians(data[:, 3])
        self.speed = data[:, 4]
        moving = np.hypot(data[:, 5], data[:, 6]) > 1.0
        self.heading = np.where(moving, np.arctan2(data[:, 6], data[:, 5]), self.yaw)
        self.limit_kmh = data[:, 7]
        self.world_red = data[:, 8] > 0.5

    @classmethod
    def of(cls, actors: Sequence[Actor]) -> _State:
        return cls(actors)


def _wanted_speed(
    state: _State,
    tm: list[TmSettings],
    per: list[VehicleSettings],
    graph: LaneGraph,
    geom: paths.PathGeometry,
) -> FloatArray:
    pct = np.array([t.speed_pct(v) for t, v in zip(tm, per, strict=True)])
    desired = np.array(
        [np.nan if v.desired_speed_kmh is None else v.desired_speed_kmh for v in per]
    )
    kmh = np.where(np.isnan(desired), state.limit_kmh * (1.0 - pct / 100.0), desired)
    return np.minimum(kmh / 3.6, _curve_speed(geom, state.speed))


LATERAL_COMFORT_MPS2 = 2.5


def _curve_speed(geom: paths.PathGeometry, speed: FloatArray) -> FloatArray:
    """Highest speed from which every curve ahead is reached at comfortable lateral accel."""
    t = geom.tangent
    heading = np.unwrap(np.arctan2(t[..., 1], t[..., 0]), axis=1)
    ds = np.maximum(np.diff(geom.along, axis=1), 0.2)
    curvature = np.abs(np.diff(heading, axis=1)) / ds
    curvature = np.maximum(curvature, np.roll(curvature, 1, axis=1))  # smooth sample noise
    v_curve = np.sqrt(LATERAL_COMFORT_MPS2 / np.maximum(curvature, 1e-4))
    dist = np.maximum(geom.along[:, 1:], 0.0)
    reach = np.sqrt(v_curve**2 + 2.0 * control.COMFORT_DECEL_MPS2 * dist)
    reach = np.where(geom.valid[:, 1:], reach, np.inf)
    return reach.min(axis=1)


def _obstacles(actors: object, fleet_ids: IntArray) -> tuple[obstacles.Obstacles, IntArray]:
    """Vehicles and walkers of the episode, and each fleet row's own obstacle row."""
    solid = [
        a
        for a in actors  # type: ignore[attr-defined]
        if a.kind in (ActorKind.VEHICLE, ActorKind.WALKER)
        and a.collisions_enabled
        and not a.parent_id
    ]
    rows = [
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
    ]
    data = np.array(rows, dtype=np.float64).reshape(len(rows), 10)
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


def _no_room(
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


def _write(
    actors: Sequence[Actor], throttle: FloatArray, brake: FloatArray, steer: FloatArray
) -> None:
    for actor, t, b, s in zip(
        actors, throttle.tolist(), brake.tolist(), steer.tolist(), strict=True
    ):
        if actor.vehicle is not None:
            actor.vehicle.control = VehicleControl(throttle=t, steer=s, brake=b)
