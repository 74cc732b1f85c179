"""Session, episode, settings, files, Traffic-Manager registry, lights and debug calls."""

from __future__ import annotations

from typing import Any

from runner.sim.handlers.registry import CallContext, RpcError, rpc
from runner.sim.protocol import codec
from runner.sim.world.maps import MapNotFound, asset_path

OPENDRIVE_MAP = "OpenDriveMap"

CARLA_VERSION = "0.9.16"


@rpc("version")
def version(ctx: CallContext) -> str:
    return CARLA_VERSION


@rpc("get_episode_info")
def get_episode_info(ctx: CallContext) -> list[Any]:
    return [ctx.sim.episode.id, [ctx.sim.token(1)]]


@rpc("get_sensor_token")
def get_sensor_token(ctx: CallContext, stream_id: int) -> list[Any]:
    """Always right before a subscription: note it, so its first frame is not lost."""
    ctx.services.sensors.expect_subscriber(int(stream_id))
    return [ctx.sim.token(int(stream_id))]


@rpc("get_episode_settings")
def get_episode_settings(ctx: CallContext) -> list[Any]:
    return codec.episode_settings(ctx.sim.episode.settings)


@rpc("set_episode_settings")
def set_episode_settings(ctx: CallContext, settings: Any) -> int:
    return ctx.sim.apply_settings(codec.parse_settings(settings), ctx.conn.id)


@rpc("tick_cue")
def tick_cue(ctx: CallContext) -> int:
    return ctx.sim.tick()


@rpc("get_available_maps")
def get_available_maps(ctx: CallContext) -> list[str]:
    return [asset_path(name) for name in ctx.sim.maps.names()]


@rpc("load_new_episode", "void")
def load_new_episode(ctx: CallContext, map_name: str, reset_settings: bool = True, *_: Any) -> None:
    name = str(map_name)
    try:
        ctx.sim.load_episode(name, bool(reset_settings))
    except MapNotFound as exc:
        raise RpcError(f"Map '{name}' not found") from exc


@rpc("load_map_layer", "void")
def load_map_layer(ctx: CallContext, layers: int) -> None:
    """Layered (_Opt) maps: every layer is always present in the embedded world."""


@rpc("unload_map_layer", "void")
def unload_map_layer(ctx: CallContext, layers: int) -> None:
    """Accepted and ignored: the embedded scene has no optional layers to hide."""


@rpc("copy_opendrive_to_file", "void")
def copy_opendrive_to_file(ctx: CallContext, xodr: str, params: Any = None) -> None:
    """generate_opendrive_world, step 1: keep the text for `load_new_episode("OpenDriveMap")`."""
    ctx.sim.maps.add_generated(OPENDRIVE_MAP, str(xodr))


@rpc("get_required_files")
def get_required_files(ctx: CallContext, folder: str = "") -> list[str]:
    """No cooked files: the client builds its map and TM graph from the OpenDRIVE text."""
    return []


@rpc("request_file")
def request_file(ctx: CallContext, name: str) -> bytes:
    raise RpcError(f"file '{name}' not found on the embedded simulator")


@rpc("get_navigation_mesh")
def get_navigation_mesh(ctx: CallContext) -> bytes:
    return b""


# -- Traffic-Manager registry --------------------------------------------------------------
# A TM a client registered (its in-client TM) is answered from the registry. Any other port
# is served by our own TM (runner/sim/traffic), unless the server runs without one: then
# the client starts its own TM and registers it, as with a CARLA server.
@rpc("is_traffic_manager_running")
def is_traffic_manager_running(ctx: CallContext, port: int) -> bool:
    p = int(port)
    traffic = ctx.services.traffic
    return ctx.sim.traffic_manager_entry(p) is not None or (
        traffic is not None and traffic.address_for(p) is not None
    )


@rpc("get_traffic_manager_running")
def get_traffic_manager_running(ctx: CallContext, port: int) -> list[Any]:
    p = int(port)
    registered = ctx.sim.traffic_manager_entry(p)
    if registered is not None:
        return registered
    traffic = ctx.services.traffic
    served = traffic.address_for(p) if traffic is not None else None
    return [served[0], served[1]] if served is not None else ["", 0]


@rpc("add_traffic_manager_running")
def add_traffic_manager_running(ctx: CallContext, entry: Any) -> bool:
    ip, port = str(entry[0]), int(entry[1])
    return ctx.sim.register_traffic_manager(port, [ip, port])


@rpc("destroy_traffic_manager")
def destroy_traffic_manager(ctx: CallContext, port: int) -> bool:
    return ctx.sim.unregister_traffic_manager(int(port))


# -- light manager and debug drawing: nothing to draw, nothing to light ------------------
@rpc("query_lights_state")
def query_lights_state(ctx: CallContext, client_id: str = "") -> list[Any]:
    return []


@rpc("update_lights_state", "void")
def update_lights_state(ctx: CallContext, *_: Any) -> None:
    """Street lights are not simulated; accepted so light-manager scripts keep running."""


@rpc("update_day_night_cycle", "void")
def update_day_night_cycle(ctx: CallContext, *_: Any) -> None:
    """No day-night cycle: the sun follows the weather parameters only."""


@rpc("draw_debug_shape", "void")
def draw_debug_shape(ctx: CallContext, *_: Any) -> None:
    """Debug shapes are fire-and-forget; the embedded renderer does not draw them."""


@rpc("clear_debug_shape", "void")
def clear_debug_shape(ctx: CallContext) -> None:
    """Nothing is drawn, so nothing to clear."""


@rpc("clear_debug_string", "void")
def clear_debug_string(ctx: CallContext) -> None:
    """Nothing is drawn, so nothing to clear."""
