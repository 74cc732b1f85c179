"""World operations shared by single RPCs and batch commands.

Each function takes the simulator (its lock already held by the caller) and raises
`RpcError` with CARLA's wording when the request cannot be honoured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.sim.errors import RpcError
from runner.sim.world import collisions, vehicle_physics
from runner.sim.world.actors import Actor, ActorKind, VehicleControl
from runner.sim.world.episode import PHYSICAL
from runner.sim.world.errors import WorldError
from runner.sim.world.geometry import Transform, Vec3
from runner.sim.world.spawning import describe

if TYPE_CHECKING:
    from runner.sim.simulator import Simulator

COLLISION_AT_SPAWN = "Spawn failed because of collision at spawn position"
CLIENT_SIDE_SENSORS = {"sensor.other.lane_invasion"}


def spawn(
    sim: Simulator,
    type_id: str,
    values: dict[str, str],
    transform: Transform,
    parent_id: int = 0,
) -> Actor:
    episode = sim.episode
    parent = episode.get(parent_id) if parent_id else None
    if parent_id and parent is None:
        raise RpcError("unable to attach actor: parent actor not found")
    try:
        actor = describe(episode.next_id(), type_id, values, transform)
    except WorldError as exc:
        raise RpcError(str(exc)) from exc
    if parent is not None:
        episode.attach(actor, parent, transform)
    elif actor.kind in PHYSICAL and _occupied(sim, actor):
        raise RpcError(COLLISION_AT_SPAWN)
    if actor.kind is ActorKind.SENSOR and type_id not in CLIENT_SIDE_SENSORS:
        actor.stream_id = sim.new_stream_id()
    sim.add_actor(actor)
    return actor


def _occupied(sim: Simulator, actor: Actor) -> bool:
    others = [
        a
        for a in sim.episode.actors.values()
        if a.kind in PHYSICAL and a.collisions_enabled and not a.parent_id
    ]
    return collisions.box_overlaps(actor.transform, actor.bounding_box, others)


def destroy(sim: Simulator, actor_id: int) -> None:
    if sim.remove_actor(actor_id) is None:
        raise RpcError("unable to destroy actor: not found")


def require(sim: Simulator, actor_id: int) -> Actor:
    actor = sim.episode.get(int(actor_id))
    if actor is None:
        raise RpcError(f"unable to find actor {actor_id}: not found")
    return actor


def require_vehicle(sim: Simulator, actor_id: int) -> Actor:
    actor = require(sim, actor_id)
    if actor.vehicle is None:
        raise RpcError(f"actor {actor_id} is not a vehicle")
    return actor


def set_transform(sim: Simulator, actor_id: int, transform: Transform) -> None:
    actor = require(sim, actor_id)
    if actor.parent_id and actor.relative_transform is not None:
        actor.relative_transform = transform
    else:
        actor.transform = transform


def set_location(sim: Simulator, actor_id: int, location: Vec3) -> None:
    actor = require(sim, actor_id)
    t = actor.transform
    set_transform(sim, actor_id, Transform(*location, t.pitch, t.yaw, t.roll))


def set_target_velocity(sim: Simulator, actor_id: int, velocity: Vec3) -> None:
    actor = require(sim, actor_id)
    if actor.vehicle is not None:
        vehicle_physics.set_target_velocity(actor, velocity)
    else:
        actor.velocity = velocity


def apply_vehicle_control(sim: Simulator, actor_id: int, control: VehicleControl) -> None:
    actor = sim.episode.get(int(actor_id))
    if actor is not None and actor.vehicle is not None:
        actor.vehicle.control = control


def set_simulate_physics(sim: Simulator, actor_id: int, enabled: bool) -> None:
    require(sim, actor_id).simulate_physics = bool(enabled)


def set_light_state(sim: Simulator, actor_id: int, flags: int) -> None:
    actor = sim.episode.get(int(actor_id))
    if actor is not None and actor.vehicle is not None:
        actor.vehicle.light_state = int(flags) & 0xFFFFFFFF
