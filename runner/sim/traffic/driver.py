"""One Traffic Manager step for every registered vehicle of every port, before physics.

Order: follow the world (episode, map, registrations) and read the settings (again only
after a TM call or a change of vehicles), respawn and switch hybrid physics by distance
to the hero (`hybrid.py`), keep each path under its vehicle and grow it (branches chosen
at random or by set_route / set_path, `routes.py`), look ahead (obstacles, lights,
stop signs, junctions, dead ends), start lane changes (`lanechange.py`), choose an
acceleration (IDM) and a steering input (pure pursuit), write the controls (dormant
vehicles are moved instead), and set the vehicle lights (`lights.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from runner.sim.traffic import (
    control,
    hybrid,
    junctions,
    lanechange,
    lights,
    obstacles,
    paths,
    routes,
    sensing,
    signals,
    signs,
)
from runner.sim.traffic.fleet import BoolArray, Fleet, FloatArray, IntArray
from runner.sim.traffic.graph import LaneGraph, lane_graph
from runner.sim.traffic.parameters import Knobs, TmSettings, VehicleSettings
from runner.sim.traffic.world import TrafficWorld
from runner.sim.world.actors import ActorKind

log = logging.getLogger("runner.sim.traffic")

STOP_GAP_M = 0.5  # IDM's minimum gap to a stop line or dead end


class PortView(Protocol):
    port: int
    settings: TmSettings
    members: set[int]
    generation: int  # grows with every TM call on the port (settings may have changed)


class Driver:
    """Holds the fleet and what persists between steps (junction reservations, RNG)."""

    def __init__(self, world: TrafficWorld) -> None:
        self._world = world
        self._fleet = Fleet()
        self._graph: LaneGraph | None = None
        self._episode_id: int | None = None
        self._rng = np.random.default_rng()
        self._admission = junctions.Admission()
        self._targets = routes.Targets()
        self._per: list[VehicleSettings] = []
        self._knobs = Knobs([], [])
        self._tm: list[TmSettings] = []
        self._settings_key: object = None
        self._stops: BoolArray = np.zeros(0, dtype=bool)
        self._reader = sensing.WorldReader()

    # -- bookkeeping ---------------------------------------------------------------------
    def _follow_world(self, seed: int | None) -> LaneGraph:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._world.reset_traffic_lights()
        episode = self._world.episode()
        if episode.id != self._episode_id or self._graph is None:
            self._graph = lane_graph(self._world.loaded_map())
            self._stops = signs.stop_entries(self._world.loaded_map(), self._graph)
            self._episode_id = episode.id
            self._fleet = Fleet()
            self._admission.clear()
            self._targets.clear()
        return self._graph

    def _sync(self, graph: LaneGraph, ports: Sequence[PortView]) -> dict[int, TmSettings]:
        """Drop rows of destroyed or unregistered vehicles, add newly registered ones.

        Returns the settings of each port.
        """
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
            for row in np.flatnonzero(~keep & fleet.b("dormant")).tolist():
                fleet.actors[row].simulate_physics = True  # a vehicle the TM let go drives on
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
        return {p.port: p.settings for p in ports}

    # -- the step --------------------------------------------------------------------------
    def step(self, dt_s: float, ports: Sequence[PortView], seed: int | None) -> None:
        graph = self._follow_world(seed)
        settings_of_port = self._sync(graph, ports)
        fleet = self._fleet
        if len(fleet) == 0 or dt_s <= 0.0:
            return
        key = (tuple((p.port, p.generation, id(p.settings)) for p in ports), fleet.ids.tobytes())
        if key != self._settings_key:  # settings or rows changed: read them again
            self._tm = [settings_of_port[port] for port in fleet.i("port").tolist()]
            self._per = [t.vehicle(v) for t, v in zip(self._tm, fleet.ids.tolist(), strict=True)]
            self._knobs = Knobs(self._tm, self._per)
            self._settings_key = key
        per, tm, knobs = self._per, self._tm, self._knobs
        replan = routes.refresh(graph, fleet, per, knobs, self._targets)
        movers = self._world.episode().of_kind(ActorKind.VEHICLE, ActorKind.WALKER)
        state, obs, own = self._reader.read(movers, fleet.ids)
        dormant = self._hybrid(graph, tm, knobs, state, obs, own)
        offset = knobs.f("lane_offset_m")
        lanechange.update_clocks(fleet, dt_s)
        self._keep_paths(graph, state, offset, replan)
        geom = paths.geometry(graph, fleet, state.xy, offset)
        look = self._gaps(graph, geom, state, obs, own, per, knobs, dt_s)
        wanted = sensing.wanted_speed(state, knobs, geom)
        geom = self._lane_changes(graph, geom, state, offset, per, knobs, wanted, look, dt_s)
        lead_m = knobs.f("lead_m")
        accel = control.idm_accel(
            state.speed, wanted, look.gap, look.lead, lead_m, fleet.f("max_accel")
        )
        throttle, brake = control.pedals(
            accel,
            state.speed,
            state.pitch,
            fleet.f("max_accel"),
            fleet.f("max_brake"),
            fleet.f("top_speed"),
        )
        steer = self._steer(geom, state)
        if dormant.any():
            hybrid.move(graph, fleet, geom, np.flatnonzero(dormant), accel, wanted, dt_s)
        sensing.write_controls(fleet.actors, throttle, brake, steer)
        if knobs.any("update_lights"):
            weather = self._world.episode().weather
            lights.update(graph, fleet, geom, knobs.b("update_lights"), brake, weather)

    def _hybrid(
        self,
        graph: LaneGraph,
        tm: list[TmSettings],
        knobs: Knobs,
        state: sensing.State,
        obs: obstacles.Obstacles,
        own: IntArray,
    ) -> BoolArray:
        """Respawn far vehicles, switch physics by distance to the hero: the dormant rows."""
        fleet = self._fleet
        if knobs.any("hybrid") or knobs.any("respawn") or fleet.b("dormant").any():
            hero_xy = hybrid.heroes(self._world.episode().of_kind(ActorKind.VEHICLE))
            hero_m = hybrid.hero_distance(state.xy, hero_xy)
            self._respawn(graph, tm, hero_m, hero_xy, state, obs, own)
            dormant = hybrid.dormant_wanted(knobs, hero_m)
            hybrid.switch(graph, fleet, dormant, state.speed)
            state.speed = np.where(dormant, fleet.f("speed"), state.speed)
        else:
            dormant = np.zeros(len(fleet), dtype=bool)
        fleet.f("speed")[~dormant] = state.speed[~dormant]
        return dormant

    def _respawn(
        self,
        graph: LaneGraph,
        tm: list[TmSettings],
        hero_m: FloatArray,
        hero_xy: FloatArray,
        state: sensing.State,
        obs: obstacles.Obstacles,
        own: IntArray,
    ) -> None:
        """Move far vehicles near the hero; their rows of `state` and `obs` follow."""
        if not self._knobs.any("respawn"):
            return
        centre = hero_xy if len(hero_xy) else np.zeros((1, 2))  # CARLA: the origin, no hero
        far = hero_m if len(hero_xy) else hybrid.hero_distance(state.xy, centre)
        vehicles = [
            (a.transform.x, a.transform.y) for a in self._world.episode().of_kind(ActorKind.VEHICLE)
        ]
        others = np.array(vehicles, dtype=np.float64).reshape(len(vehicles), 2)
        spawn = self._world.loaded_map().spawn_points
        moved = hybrid.respawn(graph, self._fleet, tm, far, centre, spawn, others, self._rng)
        for row in moved.tolist():
            t = self._fleet.actors[row].transform
            state.xy[row] = (t.x, t.y)
            state.yaw[row] = state.heading[row] = np.radians(t.yaw)
            state.speed[row] = 0.0
            if own[row] >= 0:
                actor = self._fleet.actors[row]
                obs.xy[own[row]] = (t.x, t.y)
                obs.yaw_rad[own[row]] = np.radians(t.yaw)
                obs.velocity[own[row]] = actor.velocity[:2]
            if len(hero_xy):
                hero_m[row] = hybrid.hero_distance(state.xy[row : row + 1], hero_xy)[0]

    def _keep_paths(
        self, graph: LaneGraph, state: sensing.State, offset: FloatArray, replan: IntArray
    ) -> None:
        fleet = self._fleet
        steered = self._knobs.any("has_route") or bool(self._targets.by_vehicle)
        before = fleet.path.copy() if steered else fleet.path
        off, step = paths.advance(graph, fleet, state.xy, offset)
        if steered:
            routes.passed(graph, fleet, self._knobs, self._targets, before, step, state.xy)
        if len(replan):
            off[replan] = True
        if off.any():
            rows = np.flatnonzero(off)
            found = paths.locate(graph, state.xy[rows], state.yaw[rows])
            ok = found >= 0
            paths.reset_rows(fleet, rows[ok], found[ok])
            fleet.i("lc_dir")[rows[ok]] = lanechange.NONE
        paths.extend(graph, fleet, self._choose)

    def _lane_changes(
        self,
        graph: LaneGraph,
        geom: paths.PathGeometry,
        state: sensing.State,
        offset: FloatArray,
        per: list[VehicleSettings],
        knobs: Knobs,
        wanted: FloatArray,
        look: sensing.Look,
        dt_s: float,
    ) -> paths.PathGeometry:
        """Start the lane changes wanted and safe; the new paths' geometry when any did."""
        fleet = self._fleet
        ctx = lanechange.Context(
            xy=state.xy,
            speed=state.speed,
            wanted=wanted,
            offset=offset,
            ahead=look.ahead,
            held=look.held,
            obstacles=look.obstacles,
            own=look.own,
        )
        wish = routes.lane_wishes(graph, fleet, self._targets) if self._targets.by_vehicle else None
        want, alt, forced = lanechange.wishes(fleet, knobs, ctx, self._rng, dt_s, wish)
        started = lanechange.apply(graph, fleet, want, alt, forced, per, ctx, geom, dt_s)
        if forced.any():
            self._settings_key = None  # a forced change may have been used up
        if len(started) == 0:
            return geom
        paths.extend(graph, fleet, self._choose)
        lanechange.finish(fleet, started)
        return paths.geometry(graph, fleet, state.xy, offset)

    def _choose(self, rows: IntArray, samples: IntArray) -> IntArray:
        graph = self._graph
        assert graph is not None
        count = graph.succ_start[samples + 1] - graph.succ_start[samples]
        pick = self._rng.integers(0, np.iinfo(np.int64).max, size=len(rows)) % count
        picked = graph.succ[graph.succ_start[samples] + pick]
        if not (self._knobs.any("has_route") or self._targets.by_vehicle):
            return picked
        return routes.choose(graph, self._fleet, self._per, self._targets, rows, samples, picked)

    def _gaps(
        self,
        graph: LaneGraph,
        geom: paths.PathGeometry,
        state: sensing.State,
        obs: obstacles.Obstacles,
        own: IntArray,
        per: list[VehicleSettings],
        knobs: Knobs,
        dt_s: float,
    ) -> sensing.Look:
        """Gap to the nearest thing to stop behind (vehicle, walker, line, dead end), its speed."""
        fleet = self._fleet
        front = fleet.f("front_m")
        ignore = self._ignore_mask(per, knobs, obs)
        ahead = obstacles.find_ahead(
            graph, geom, fleet.path, fleet.f("half_width_m"), own, obs, ignore
        )
        gap = ahead.along_m - front
        lead = ahead.speed.copy()
        slot, line = signals.next_light(graph, geom, fleet.path)
        state_tbl, yellow_left = signals.light_table(self._world.light_actors())
        ignore_light = self._light_rolls(slot, knobs)
        light_gap = signals.light_gaps(
            slot, line, front, state.speed, state_tbl, yellow_left, ignore_light, state.world_red
        )
        approach = junctions.approaches(graph, geom, fleet.path, front)
        room = sensing.no_room(approach, geom, ahead, fleet.f("front_m") + fleet.f("rear_m"))
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
        sign_gap = signs.stop_gaps(
            graph, self._stops, fleet, approach, state.speed, knobs, self._rng, dt_s
        )
        stop_gap = np.minimum(np.minimum(light_gap, junction_gap), end_gap)
        stop_gap = np.minimum(stop_gap, sign_gap) - STOP_GAP_M
        use_stop = stop_gap < gap
        return sensing.Look(
            gap=np.where(use_stop, stop_gap, gap),
            lead=np.where(use_stop, 0.0, lead),
            ahead=ahead,
            held=use_stop | (np.isfinite(stop_gap) & (stop_gap < gap + 10.0)),
            obstacles=obs,
            own=own,
        )

    def _ignore_mask(
        self, per: list[VehicleSettings], knobs: Knobs, obs: obstacles.Obstacles
    ) -> BoolArray:
        n, m = len(per), len(obs.ids)
        ignore = np.zeros((n, m), dtype=bool)
        pv = knobs.f("ignore_vehicles_pct") / 100.0
        pw = knobs.f("ignore_walkers_pct") / 100.0
        roll = self._rng.random(n)
        ignore |= (roll < pv)[:, None] & ~obs.walker[None, :]
        ignore |= (roll < pw)[:, None] & obs.walker[None, :]
        chosen = np.flatnonzero(knobs.b("has_ignored")).tolist()
        column = {int(a): c for c, a in enumerate(obs.ids.tolist())} if chosen else {}
        for row in chosen:
            for other in per[row].ignored_actors:
                c = column.get(other)
                if c is not None:
                    ignore[row, c] = True
        return ignore

    def _light_rolls(self, slot: IntArray, knobs: Knobs) -> BoolArray:
        """One roll of ignore_lights_percentage per vehicle and light approached."""
        fleet = self._fleet
        seen = fleet.i("light_slot_seen")
        fresh = (slot >= 0) & (slot != seen)
        if fresh.any():
            pct = knobs.f("ignore_lights_pct")[fresh] / 100.0
            fleet.b("ignore_light")[fresh] = self._rng.random(int(fresh.sum())) < pct
            seen[fresh] = slot[fresh]
        return fleet.b("ignore_light") & (slot >= 0)

    def _steer(self, geom: paths.PathGeometry, state: sensing.State) -> FloatArray:
        fleet = self._fleet
        reach = control.lookahead_m(state.speed)
        target = control.pursuit_targets(
            geom.along, geom.valid, geom.points, fleet.i("length"), reach
        )
        return control.steer_to(
            state.xy,
            state.heading,
            target,
            state.speed,
            fleet.f("wheelbase_m"),
            fleet.f("max_steer_rad"),
        )
