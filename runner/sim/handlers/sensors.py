"""Sensor-side calls other than streaming itself: G-buffers, ROS, V2X, ignored vehicles."""

from __future__ import annotations

from typing import Any

from runner.sim import actions
from runner.sim.handlers.registry import CallContext, RpcError, rpc


def _sensor(ctx: CallContext, actor_id: int) -> None:
    actor = actions.require(ctx.sim, actor_id)
    if not actor.stream_id:
        raise RpcError(f"actor {actor_id} is not a server-side sensor")


@rpc("get_gbuffer_token")
def get_gbuffer_token(ctx: CallContext, actor_id: int, gbuffer_id: int) -> bytes:
    raise RpcError("G-buffer streams are not supported by the embedded simulator")


@rpc("enable_gbuffers", "void")
def enable_gbuffers(ctx: CallContext, actor_id: int, enabled: bool) -> None:
    _sensor(ctx, actor_id)


@rpc("are_gbuffers_enabled")
def are_gbuffers_enabled(ctx: CallContext, actor_id: int) -> bool:
    return False


@rpc("enable_sensor_for_ros", "void")
def enable_sensor_for_ros(ctx: CallContext, stream_id: int) -> None:
    raise RpcError("ROS 2 publishing is not supported by the embedded simulator")


@rpc("disable_sensor_for_ros", "void")
def disable_sensor_for_ros(ctx: CallContext, stream_id: int) -> None:
    """Nothing is ever published to ROS, so disabling always succeeds."""


@rpc("is_sensor_enabled_for_ros")
def is_sensor_enabled_for_ros(ctx: CallContext, stream_id: int) -> bool:
    return False


@rpc("send", "void")
def send(ctx: CallContext, actor_id: int, message: str) -> None:
    raise RpcError("V2X messages are not supported by the embedded simulator")


@rpc("set_ignored_vehicles", "void")
def set_ignored_vehicles(ctx: CallContext, actor_id: int, ids: Any) -> None:
    _sensor(ctx, actor_id)
