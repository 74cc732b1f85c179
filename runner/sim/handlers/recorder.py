"""Recorder and replayer calls (file format and query text: carla-recorder.md)."""

from __future__ import annotations

from typing import Any

from runner.sim.handlers.registry import CallContext, RpcError, rpc


@rpc("start_recorder")
def start_recorder(ctx: CallContext, filename: str, additional_data: bool = False) -> str:
    sim = ctx.sim
    return ctx.services.recorder.start(
        str(filename),
        bool(additional_data),
        episode=sim.episode,
        loaded_map=sim.map,
        elapsed_s=sim.elapsed_s,
    )


@rpc("stop_recorder", "void")
def stop_recorder(ctx: CallContext) -> None:
    ctx.services.recorder.stop()


@rpc("show_recorder_file_info")
def show_recorder_file_info(ctx: CallContext, filename: str, show_all: bool = False) -> str:
    return ctx.services.recorder.file_info(str(filename), bool(show_all))


@rpc("show_recorder_collisions")
def show_recorder_collisions(ctx: CallContext, filename: str, type1: int, type2: int) -> str:
    return ctx.services.recorder.collisions(str(filename), chr(int(type1)), chr(int(type2)))


@rpc("show_recorder_actors_blocked")
def show_recorder_actors_blocked(
    ctx: CallContext, filename: str, min_time: float, min_distance: float
) -> str:
    return ctx.services.recorder.actors_blocked(str(filename), float(min_time), float(min_distance))


@rpc("replay_file")
def replay_file(ctx: CallContext, filename: str, *_: Any) -> str:
    ctx.services.recorder.path("replay_file", str(filename))  # refused names say so first
    raise RpcError("replaying recordings is not supported by the embedded simulator yet")


@rpc("stop_replayer", "void")
def stop_replayer(ctx: CallContext, keep_actors: bool = False) -> None:
    """No replay can be running, so stopping is always a success."""


@rpc("set_replayer_time_factor", "void")
def set_replayer_time_factor(ctx: CallContext, factor: float) -> None:
    """Accepted; takes effect once replay exists."""


@rpc("set_replayer_ignore_hero", "void")
def set_replayer_ignore_hero(ctx: CallContext, ignore: bool) -> None:
    """Accepted; takes effect once replay exists."""


@rpc("set_replayer_ignore_spectator", "void")
def set_replayer_ignore_spectator(ctx: CallContext, ignore: bool) -> None:
    """Accepted; takes effect once replay exists."""
