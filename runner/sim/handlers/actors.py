"""Actor life cycle, poses, generic physics calls and actor-local queries."""

from __future__ import annotations

from typing import Any

from runner.sim import actions
from runner.sim.handlers.registry import CallContext, rpc, unsupported
from runner.sim.protocol import codec

ZERO_TRANSFORM = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


@rpc("spawn_actor")
def spawn_actor(ctx: CallContext, description: Any, transform: Any) -> list[Any]:
    type_id, values = codec.parse_description(description)
    actor = actions.spawn(ctx.sim, type_id, values, codec.parse_transform(transform))
    return codec.actor_record(actor, ctx.sim.token(actor.stream_id))


@rpc("spawn_actor_with_parent")
def spawn_actor_with_parent(
    ctx: CallContext, description: Any, transform: Any, parent_id: int, *_: Any
) -> list[Any]:
    type_id, values = codec.parse_description(description)
    relative = codec.parse_transform(transform)
    actor = actions.spawn(ctx.sim, type_id, values, relative, int(parent_id))
    return codec.actor_record(actor, ctx.sim.token(actor.stream_id))


@rpc("destroy_actor")
def destroy_actor(ctx: CallContext, actor_id: int) -> bool:
    actions.destroy(ctx.sim, int(actor_id))
    return True


@rpc("set_actor_location", "void")
def set_actor_location(ctx: CallContext, actor_id: int, location: Any) -> None:
    actions.set_location(ctx.sim, actor_id, codec.parse_vec3(location))


@rpc("set_actor_transform", "void")
def set_actor_transform(ctx: CallContext, actor_id: int, transform: Any) -> None:
    actions.set_transform(ctx.sim, actor_id, codec.parse_transform(transform))


@rpc("set_actor_target_velocity", "void")
def set_actor_target_velocity(ctx: CallContext, actor_id: int, velocity: Any) -> None:
    actions.set_target_velocity(ctx.sim, actor_id, codec.parse_vec3(velocity))


@rpc("set_actor_target_angular_velocity", "void")
def set_actor_target_angular_velocity(ctx: CallContext, actor_id: int, velocity: Any) -> None:
    actions.require(ctx.sim, actor_id).angular_velocity = codec.parse_vec3(velocity)


@rpc("enable_actor_constant_velocity", "void")
def enable_actor_constant_velocity(ctx: CallContext, actor_id: int, velocity: Any) -> None:
    actions.require(ctx.sim, actor_id).constant_velocity = codec.parse_vec3(velocity)


@rpc("disable_actor_constant_velocity", "void")
def disable_actor_constant_velocity(ctx: CallContext, actor_id: int) -> None:
    actions.require(ctx.sim, actor_id).constant_velocity = None


@rpc("set_actor_simulate_physics", "void")
def set_actor_simulate_physics(ctx: CallContext, actor_id: int, enabled: bool) -> None:
    actions.set_simulate_physics(ctx.sim, actor_id, enabled)


@rpc("set_actor_collisions", "void")
def set_actor_collisions(ctx: CallContext, actor_id: int, enabled: bool) -> None:
    actions.require(ctx.sim, actor_id).collisions_enabled = bool(enabled)


@rpc("set_actor_enable_gravity", "void")
def set_actor_enable_gravity(ctx: CallContext, actor_id: int, enabled: bool) -> None:
    actions.require(ctx.sim, actor_id).enable_gravity = bool(enabled)


@rpc("set_actor_dead", "void")
def set_actor_dead(ctx: CallContext, actor_id: int) -> None:
    actor = actions.require(ctx.sim, actor_id)
    actor.simulate_physics = False
    actor.velocity = (0.0, 0.0, 0.0)


@rpc("get_actor_bounding_box")
def get_actor_bounding_box(ctx: CallContext, actor_id: int) -> list[Any]:
    actor = ctx.sim.actor(int(actor_id))
    if actor is None:  # CARLA answers an all-zero box, not an error
        return codec.ZERO_BOX
    return codec.bounding_box(actor.bounding_box, actor.id)


def _impulse(kind: str) -> None:
    """Impulses and forces act on rigid bodies; the kinematic model has none."""

    def fn(ctx: CallContext, actor_id: int, *_: Any) -> None:
        actions.require(ctx.sim, actor_id)

    rpc(kind, "void")(fn)


for _name in (
    "add_actor_impulse",
    "add_actor_force",
    "add_actor_angular_impulse",
    "add_actor_torque",
    "add_actor_impulse_at_location",
    "add_actor_force_at_location",
):
    _impulse(_name)


def _no_components(name: str, result: Any) -> None:
    """Actors here are boxes: no skeletal components, bones or sockets."""

    def fn(ctx: CallContext, actor_id: int, *_: Any) -> Any:
        actions.require(ctx.sim, actor_id)
        return result

    rpc(name)(fn)


for _name, _result in (
    ("get_actor_component_world_transform", ZERO_TRANSFORM),
    ("get_actor_component_relative_transform", ZERO_TRANSFORM),
    ("get_actor_bone_world_transforms", []),
    ("get_actor_bone_relative_transforms", []),
    ("get_actor_component_names", []),
    ("get_actor_bone_names", []),
    ("get_actor_socket_world_transforms", []),
    ("get_actor_socket_relative_transforms", []),
    ("get_actor_socket_names", []),
):
    _no_components(_name, _result)


@rpc("set_actor_autopilot", "void")
def set_actor_autopilot(ctx: CallContext, actor_id: int, enabled: bool = True) -> None:
    """Server-side autopilot is legacy; the client's Traffic Manager drives instead."""
    actions.require_vehicle(ctx.sim, actor_id)


unsupported("enable_carsim", "CarSim", "void")
unsupported("use_carsim_road", "CarSim", "void")
unsupported("enable_chrono_physics", "Chrono physics", "void")


@rpc("restore_physx_physics", "void")
def restore_physx_physics(ctx: CallContext, actor_id: int) -> None:
    actions.require_vehicle(ctx.sim, actor_id)
