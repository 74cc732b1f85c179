"""`apply_batch`: every command type of carla.command, one response per top-level command.

The Traffic Manager calls this every tick from its own thread, so a malformed command
must become an error entry, never an exception that leaves the call unanswered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.sim import actions
from runner.sim.handlers.registry import CallContext, RpcError, rpc
from runner.sim.protocol import codec
from runner.sim.protocol.codec import DecodeError
from runner.sim.world.actors import TrafficLightState
from runner.sim.world.errors import WorldError

Command = Callable[[CallContext, list[Any]], int]


def _spawn(ctx: CallContext, p: list[Any]) -> int:
    type_id, values = codec.parse_description(p[0])
    transform = codec.parse_transform(p[1])
    parent = p[2] if len(p) > 2 else [False]
    parent_id = int(parent[1]) if isinstance(parent, list) and len(parent) == 2 else 0
    actor = actions.spawn(ctx.sim, type_id, values, transform, parent_id)
    for follow_up in p[5] if len(p) > 5 else []:
        _run(ctx, follow_up, substitute_id=actor.id)
    return actor.id


def _destroy(ctx: CallContext, p: list[Any]) -> int:
    actions.destroy(ctx.sim, int(p[0]))
    return int(p[0])


def _vehicle_control(ctx: CallContext, p: list[Any]) -> int:
    actions.apply_vehicle_control(ctx.sim, p[0], codec.parse_vehicle_control(p[1]))
    return int(p[0])


def _transform(ctx: CallContext, p: list[Any]) -> int:
    actions.set_transform(ctx.sim, p[0], codec.parse_transform(p[1]))
    return int(p[0])


def _walker_state(ctx: CallContext, p: list[Any]) -> int:
    actions.set_transform(ctx.sim, p[0], codec.parse_transform(p[1]))
    return int(p[0])


def _target_velocity(ctx: CallContext, p: list[Any]) -> int:
    actions.set_target_velocity(ctx.sim, p[0], codec.parse_vec3(p[1]))
    return int(p[0])


def _angular_velocity(ctx: CallContext, p: list[Any]) -> int:
    actions.require(ctx.sim, p[0]).angular_velocity = codec.parse_vec3(p[1])
    return int(p[0])


def _touch(ctx: CallContext, p: list[Any]) -> int:
    """Commands that only need the actor to exist in a kinematic world (forces, gravity)."""
    actions.require(ctx.sim, p[0])
    return int(p[0])


def _simulate_physics(ctx: CallContext, p: list[Any]) -> int:
    actions.set_simulate_physics(ctx.sim, p[0], bool(p[1]))
    return int(p[0])


def _enable_gravity(ctx: CallContext, p: list[Any]) -> int:
    actions.require(ctx.sim, p[0]).enable_gravity = bool(p[1])
    return int(p[0])


def _light_state(ctx: CallContext, p: list[Any]) -> int:
    actions.set_light_state(ctx.sim, p[0], int(p[1]))
    return int(p[0])


def _location(ctx: CallContext, p: list[Any]) -> int:
    actions.set_location(ctx.sim, p[0], codec.parse_vec3(p[1]))
    return int(p[0])


def _autopilot(ctx: CallContext, p: list[Any]) -> int:
    """SetAutopilot [id, enabled] (the wire carries no TM port): our Traffic Manager drives."""
    actions.require_vehicle(ctx.sim, p[0])
    traffic = ctx.services.traffic
    if traffic is not None:
        traffic.set_autopilot(int(p[0]), bool(p[1]))
    return int(p[0])


def _console(ctx: CallContext, p: list[Any]) -> int:
    raise RpcError("console commands are not supported by the embedded simulator")


def _traffic_light_state(ctx: CallContext, p: list[Any]) -> int:
    actor = actions.require(ctx.sim, p[0])
    if actor.traffic_light is None:
        raise RpcError(f"actor {p[0]} is not a traffic light")
    actor.traffic_light.state = TrafficLightState(int(p[1]))
    return int(p[0])


def _walker_control(ctx: CallContext, p: list[Any]) -> int:
    actor = actions.require(ctx.sim, p[0])
    direction, speed = codec.parse_vec3(p[1][0]), float(p[1][1])
    actor.velocity = (direction[0] * speed, direction[1] * speed, direction[2] * speed)
    return int(p[0])


def _ackermann(ctx: CallContext, p: list[Any]) -> int:
    actions.require_vehicle(ctx.sim, p[0])
    return int(p[0])


COMMANDS: dict[int, Command] = {
    0: _spawn,
    1: _destroy,
    2: _vehicle_control,
    3: _ackermann,
    4: _walker_control,
    5: _touch,  # ApplyVehiclePhysicsControl: accepted, the kinematic model has no PhysX
    6: _transform,
    7: _walker_state,
    8: _target_velocity,
    9: _angular_velocity,
    10: _touch,
    11: _touch,
    12: _touch,
    13: _touch,
    14: _simulate_physics,
    15: _enable_gravity,
    16: _autopilot,
    17: _touch,
    18: _light_state,
    19: _location,
    20: _console,
    21: _traffic_light_state,
}


def _run(ctx: CallContext, command: Any, substitute_id: int | None = None) -> int:
    index, payload = command[0]
    payload = list(payload)
    if substitute_id is not None and index != 0 and payload:
        payload[0] = substitute_id
    handler = COMMANDS.get(int(index))
    if handler is None:
        raise RpcError(f"unknown batch command {index}")
    return handler(ctx, payload)


@rpc("apply_batch", "bare")
def apply_batch(ctx: CallContext, commands: list[Any], do_tick_cue: bool = False) -> list[Any]:
    responses: list[Any] = []
    for command in commands:
        try:
            responses.append([[1, _run(ctx, command)]])
        except (RpcError, WorldError) as exc:
            responses.append([[0, [str(exc)]]])
        except (DecodeError, TypeError, ValueError, IndexError, KeyError) as exc:
            responses.append([[0, [f"malformed batch command: {exc}"]]])
    if do_tick_cue and ctx.sim.episode.settings.synchronous_mode:
        ctx.sim.tick()
    return responses
