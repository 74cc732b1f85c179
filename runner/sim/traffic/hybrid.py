"""Hybrid physics and respawning dormant vehicles.

Hybrid mode (`set_hybrid_physics_mode(True)`): a vehicle farther than the TM's hybrid
radius from every hero vehicle (role_name 'hero') has its physics off and is moved by the
TM along its planned path instead: its speed follows the same IDM acceleration as any
vehicle's (so it still stops for lights, junctions and leaders) and its pose is put on
the path that far ahead, on the road's height. As in CARLA, with no hero at all every
vehicle of a hybrid TM is dormant. A vehicle coming back into the radius gets its
physics back with the speed it had, so it drives on without a jolt. A client sees a
dormant vehicle move while its `get_velocity()` reads zero (physics off), as in CARLA.

Respawn (`set_respawn_dormant_vehicles(True)`): a vehicle farther from the hero than the
upper bound of `set_boundaries_respawn_dormant_vehicles` is put on a random free spawn
point whose distance from the hero lies within [lower, upper]. CARLA does this to
vehicles its large-map streaming made dormant; this world streams nothing, so the upper
bound plays that part. Without a hero the map's origin stands in for it, as in CARLA.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from runner.sim.traffic import paths
from runner.sim.traffic.fleet import BoolArray, Fleet, FloatArray, IntArray
from runner.sim.traffic.graph import LaneGraph
from runner.sim.traffic.parameters import Knobs, TmSettings
from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.geometry import Transform

HERO_ROLE = "hero"
FREE_SPAWN_M = 8.0  # no vehicle this close to a spawn point a vehicle is respawned on


def heroes(actors: Iterable[Actor]) -> FloatArray:
    """(H, 2) positions of the vehicles whose role_name is 'hero'."""
    found = [
        (a.transform.x, a.transform.y)
        for a in actors
        if a.kind is ActorKind.VEHICLE and a.role_name == HERO_ROLE
    ]
    return np.array(found, dtype=np.float64).reshape(len(found), 2)


def hero_distance(xy: FloatArray, hero_xy: FloatArray) -> FloatArray:
    if len(hero_xy) == 0:
        return np.full(len(xy), np.inf)
    d = np.hypot(xy[:, None, 0] - hero_xy[None, :, 0], xy[:, None, 1] - hero_xy[None, :, 1])
    return d.min(axis=1)


def dormant_wanted(knobs: Knobs, distance: FloatArray) -> BoolArray:
    return knobs.b("hybrid") & (distance > knobs.f("hybrid_radius_m"))


def switch(graph: LaneGraph, fleet: Fleet, dormant: BoolArray, speed: FloatArray) -> None:
    """Turn physics off for newly dormant rows and back on for woken ones."""
    was = fleet.b("dormant")
    for row in np.flatnonzero(dormant & ~was).tolist():
        actor = fleet.actors[row]
        actor.simulate_physics = False
        fleet.f("speed")[row] = speed[row]
        fleet.f("z_off")[row] = actor.transform.z - graph.pos[fleet.path[row, 0], 2]
    for row in np.flatnonzero(was & ~dormant).tolist():
        actor = fleet.actors[row]
        actor.simulate_physics = True
        v = float(fleet.f("speed")[row])
        yaw = np.radians(actor.transform.yaw)
        actor.velocity = (v * float(np.cos(yaw)), v * float(np.sin(yaw)), 0.0)
        if actor.vehicle is not None:
            actor.vehicle.speed_mps = v
    fleet.cols["dormant"] = dormant.copy()


def move(
    graph: LaneGraph,
    fleet: Fleet,
    geom: paths.PathGeometry,
    rows: IntArray,
    accel: FloatArray,
    wanted: FloatArray,
    dt_s: float,
) -> None:
    """Advance dormant rows kinematically along their paths."""
    if len(rows) == 0:
        return
    speed = fleet.f("speed")
    v = np.clip(speed[rows] + accel[rows] * dt_s, 0.0, np.maximum(wanted[rows], 0.0))
    speed[rows] = v
    step = v * dt_s
    along = geom.along[rows]
    # position s on the path: from the vehicle's own spot (along = 0) forward by `step`
    s = np.clip(step, 0.0, None)
    k = np.array([np.searchsorted(a, x) for a, x in zip(along, s, strict=True)])
    k = np.clip(k, 1, along.shape[1] - 1)
    r = np.arange(len(rows))
    a0, a1 = along[r, k - 1], along[r, k]
    u = np.clip((s - a0) / np.maximum(a1 - a0, 1e-6), 0.0, 1.0)
    p0, p1 = geom.points[rows, k - 1], geom.points[rows, k]
    xy = p0 + u[:, None] * (p1 - p0)
    z0, z1 = graph.pos[fleet.path[rows, k - 1], 2], graph.pos[fleet.path[rows, k], 2]
    z = z0 + u * (z1 - z0) + fleet.f("z_off")[rows]
    t = geom.tangent[rows, k - 1]
    yaw = np.degrees(np.arctan2(t[:, 1], t[:, 0]))
    moving = v > 0.0
    for i, row in enumerate(rows.tolist()):
        if not moving[i]:
            continue
        actor = fleet.actors[row]
        old = actor.transform
        actor.transform = Transform(
            float(xy[i, 0]), float(xy[i, 1]), float(z[i]), old.pitch, float(yaw[i]), old.roll
        )


def respawn(
    graph: LaneGraph,
    fleet: Fleet,
    tm: Sequence[TmSettings],
    distance: FloatArray,
    hero_xy: FloatArray,
    spawn_points: Sequence[Transform],
    others_xy: FloatArray,
    rng: np.random.Generator,
) -> IntArray:
    """Teleport far rows to free spawn points within their TM's bounds; returns the rows."""
    on = np.array([t.respawn_dormant for t in tm], dtype=bool)
    upper = np.array([t.respawn_upper_m for t in tm])
    rows = np.flatnonzero(on & np.isfinite(distance) & (distance > upper))
    if len(rows) == 0 or not spawn_points:
        return np.zeros(0, np.int64)
    sp = np.array([(p.x, p.y) for p in spawn_points])
    sp_hero = hero_distance(sp, hero_xy)
    taken = [others_xy]
    moved: list[int] = []
    for row in rows.tolist():
        lo, hi = tm[row].respawn_lower_m, tm[row].respawn_upper_m
        occupied = np.concatenate(taken)
        near = hero_distance(sp, occupied) if len(occupied) else np.full(len(sp), np.inf)
        ok = np.flatnonzero((sp_hero >= lo) & (sp_hero <= hi) & (near > FREE_SPAWN_M))
        if len(ok) == 0:
            continue
        pick = spawn_points[int(ok[rng.integers(len(ok))])]
        _teleport(fleet, row, pick)
        taken.append(np.array([[pick.x, pick.y]]))
        moved.append(row)
    found = np.array(moved, dtype=np.int64)
    if len(found):
        xy = np.array([(p.transform.x, p.transform.y) for p in (fleet.actors[r] for r in moved)])
        yaw = np.radians([fleet.actors[r].transform.yaw for r in moved])
        sample = paths.locate(graph, xy, yaw)
        placed = sample >= 0
        paths.reset_rows(fleet, found[placed], sample[placed])
        fleet.f("z_off")[found] = 0.0  # a vehicle's origin rests on the road
    return found


def _teleport(fleet: Fleet, row: int, to: Transform) -> None:
    actor = fleet.actors[row]
    actor.transform = Transform(to.x, to.y, to.z, to.pitch, to.yaw, to.roll)
    actor.velocity = (0.0, 0.0, 0.0)
    if actor.vehicle is not None:
        actor.vehicle.speed_mps = 0.0
    fleet.f("speed")[row] = 0.0
    fleet.i("lc_dir")[row] = 0
