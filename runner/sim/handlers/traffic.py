"""Traffic-light calls; state and timings travel back to the client in the world state."""

from __future__ import annotations

from typing import Any

from runner.sim import actions
from runner.sim.handlers.registry import CallContext, RpcError, rpc
from runner.sim.protocol import codec
from runner.sim.world.actors import Actor, TrafficLight, TrafficLightState


def _light(ctx: CallContext, actor_id: int) -> tuple[Actor, TrafficLight]:
    actor = actions.require(ctx.sim, actor_id)
    if actor.traffic_light is None:
        raise RpcError(f"actor {actor_id} is not a traffic light")
    return actor, actor.traffic_light


@rpc("set_traffic_light_state", "void")
def set_traffic_light_state(ctx: CallContext, actor_id: int, state: int) -> None:
    _, light = _light(ctx, actor_id)
    light.state = TrafficLightState(int(state))
    light.elapsed_time = 0.0


@rpc("set_traffic_light_green_time", "void")
def set_traffic_light_green_time(ctx: CallContext, actor_id: int, seconds: float) -> None:
    _light(ctx, actor_id)[1].green_time = float(seconds)


@rpc("set_traffic_light_yellow_time", "void")
def set_traffic_light_yellow_time(ctx: CallContext, actor_id: int, seconds: float) -> None:
    _light(ctx, actor_id)[1].yellow_time = float(seconds)


@rpc("set_traffic_light_red_time", "void")
def set_traffic_light_red_time(ctx: CallContext, actor_id: int, seconds: float) -> None:
    _light(ctx, actor_id)[1].red_time = float(seconds)


@rpc("freeze_traffic_light", "void")
def freeze_traffic_light(ctx: CallContext, actor_id: int, frozen: bool) -> None:
    _light(ctx, actor_id)[1].frozen = bool(frozen)


@rpc("freeze_all_traffic_lights", "void")
def freeze_all_traffic_lights(ctx: CallContext, frozen: bool) -> None:
    ctx.sim.stepper.freeze_lights(bool(frozen))


@rpc("reset_traffic_light_group", "void")
def reset_traffic_light_group(ctx: CallContext, actor_id: int) -> None:
    actor, _ = _light(ctx, actor_id)
    ctx.sim.stepper.reset_light_group(actor.id)


@rpc("reset_all_traffic_lights", "void")
def reset_all_traffic_lights(ctx: CallContext) -> None:
    ctx.sim.stepper.reset_all_lights()


@rpc("get_group_traffic_lights")
def get_group_traffic_lights(ctx: CallContext, actor_id: int) -> list[int]:
    actor, _ = _light(ctx, actor_id)
    return ctx.sim.stepper.light_group(actor.id)


@rpc("get_light_boxes")
def get_light_boxes(ctx: CallContext, actor_id: int) -> list[Any]:
    actor, _ = _light(ctx, actor_id)
    return [codec.bounding_box(box, actor.id) for box in ctx.sim.stepper.light_boxes(actor)]
