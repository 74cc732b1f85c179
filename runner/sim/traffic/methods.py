"""Every RPC a 0.9.16 `TrafficManagerRemote` can send, with its handler.

The remote speaks plain rpclib (no `[async_flag]` first parameter, no Response wrapping):
`[0, msgid, name, [args...]]`, answered `[1, msgid, nil, result]`. The client never reads
a result (tests/carla_tm_rpc.py checks that in the binary), so every handler answers nil.
A `carla::rpc::Actor` argument arrives as its msgpack array; only its id (element 0)
matters. `tests/test_tm_rpc_names.py` fails if the client can send a name missing here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from runner.sim.traffic.parameters import TmSettings, VehicleSettings

# carla.RoadOption as the client serialises set_route's strings (one byte each).
ROAD_OPTIONS = {1: "Left", 2: "Right", 3: "Straight", 4: "LaneFollow"}


class PortControl(Protocol):
    """What a handler may do to the Traffic Manager serving one port."""

    settings: TmSettings

    def register(self, actor_ids: list[int]) -> None: ...

    def unregister(self, actor_ids: list[int]) -> None: ...

    def shut_down(self) -> None: ...

    def set_seed(self, seed: int) -> None: ...


Handler = Callable[..., None]
TM_METHODS: dict[str, Handler] = {}
# Answered on the RPC thread without waiting for a step in progress (the handler gets None).
ANSWERED_AT_ONCE = frozenset({"health_check_remote_TM"})


def tm_rpc(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if name in TM_METHODS:
            raise RuntimeError(f"TM RPC {name} registered twice")
        TM_METHODS[name] = fn
        return fn

    return register


def actor_id(actor: Any) -> int:
    """The id of a serialised `carla::rpc::Actor` (`[id, parent_id, description, ...]`)."""
    return int(actor[0]) if isinstance(actor, (list, tuple)) else int(actor)


def _vehicle(tm: PortControl, actor: Any) -> VehicleSettings:
    return tm.settings.vehicle(actor_id(actor))


def _locations(path: Any) -> list[tuple[float, float, float]]:
    return [(float(p[0]), float(p[1]), float(p[2])) for p in path]


def _new_path(tm: PortControl, actor: Any, path: list[Any]) -> None:
    v = _vehicle(tm, actor)
    v.path, v.path_version = _locations(path), v.path_version + 1


def _new_route(tm: PortControl, actor: Any, route: Any) -> None:
    v = _vehicle(tm, actor)
    v.route, v.route_version = _route(route), v.route_version + 1


def _route(route: Any) -> list[int]:
    """vector<uint8_t> arrives as msgpack bin; accept a list of ints too."""
    return [int(b) for b in (bytes(route) if isinstance(route, (bytes, bytearray)) else route)]


# -- registration and lifecycle ------------------------------------------------------------
@tm_rpc("register_vehicle")
def register_vehicle(tm: PortControl, actors: list[Any]) -> None:
    tm.register([actor_id(a) for a in actors])


@tm_rpc("unregister_vehicle")
def unregister_vehicle(tm: PortControl, actors: list[Any]) -> None:
    tm.unregister([actor_id(a) for a in actors])


@tm_rpc("shut_down")
def shut_down(tm: PortControl) -> None:
    tm.shut_down()


@tm_rpc("health_check_remote_TM")
def health_check_remote_tm(tm: PortControl | None) -> None:
    """The remote's keep-alive, every 2 s; answered without touching the world."""


@tm_rpc("set_synchronous_mode")
def set_synchronous_mode(tm: PortControl, mode: bool) -> None:
    """Stored only: our TM steps with the world in both modes, so nothing waits on it."""
    tm.settings.synchronous = bool(mode)


@tm_rpc("set_synchronous_mode_timeout_in_milisecond")
def set_synchronous_mode_timeout(tm: PortControl, time_ms: float) -> None:
    tm.settings.synchronous_timeout_ms = float(time_ms)


@tm_rpc("set_random_device_seed")
def set_random_device_seed(tm: PortControl, seed: int) -> None:
    tm.set_seed(int(seed))


@tm_rpc("set_osm_mode")
def set_osm_mode(tm: PortControl, mode: bool) -> None:
    tm.settings.osm_mode = bool(mode)


# -- speeds and distances --------------------------------------------------------------------
@tm_rpc("set_global_percentage_speed_difference")
def set_global_percentage_speed_difference(tm: PortControl, pct: float) -> None:
    tm.settings.speed_difference_pct = min(100.0, float(pct))


@tm_rpc("set_percentage_speed_difference")
def set_percentage_speed_difference(tm: PortControl, actor: Any, pct: float) -> None:
    v = _vehicle(tm, actor)
    v.speed_difference_pct, v.desired_speed_kmh = min(100.0, float(pct)), None


@tm_rpc("set_desired_speed")
def set_desired_speed(tm: PortControl, actor: Any, speed_kmh: float) -> None:
    v = _vehicle(tm, actor)
    v.desired_speed_kmh, v.speed_difference_pct = max(0.0, float(speed_kmh)), None


@tm_rpc("set_global_distance_to_leading_vehicle")
def set_global_distance_to_leading_vehicle(tm: PortControl, distance_m: float) -> None:
    tm.settings.lead_distance_m = max(0.0, float(distance_m))


@tm_rpc("set_distance_to_leading_vehicle")
def set_distance_to_leading_vehicle(tm: PortControl, actor: Any, distance_m: float) -> None:
    _vehicle(tm, actor).lead_distance_m = max(0.0, float(distance_m))


@tm_rpc("set_global_lane_offset")
def set_global_lane_offset(tm: PortControl, offset_m: float) -> None:
    tm.settings.lane_offset_m = float(offset_m)


@tm_rpc("set_lane_offset")
def set_lane_offset(tm: PortControl, actor: Any, offset_m: float) -> None:
    _vehicle(tm, actor).lane_offset_m = float(offset_m)


# -- rules and probabilities -----------------------------------------------------------------
@tm_rpc("set_percentage_running_light")
def set_percentage_running_light(tm: PortControl, actor: Any, pct: float) -> None:
    _vehicle(tm, actor).ignore_lights_pct = float(pct)


@tm_rpc("set_percentage_running_sign")
def set_percentage_running_sign(tm: PortControl, actor: Any, pct: float) -> None:
    _vehicle(tm, actor).ignore_signs_pct = float(pct)


@tm_rpc("set_percentage_ignore_vehicles")
def set_percentage_ignore_vehicles(tm: PortControl, actor: Any, pct: float) -> None:
    _vehicle(tm, actor).ignore_vehicles_pct = float(pct)


@tm_rpc("set_percentage_ignore_walkers")
def set_percentage_ignore_walkers(tm: PortControl, actor: Any, pct: float) -> None:
    _vehicle(tm, actor).ignore_walkers_pct = float(pct)


@tm_rpc("set_collision_detection")
def set_collision_detection(tm: PortControl, actor: Any, other: Any, detect: bool) -> None:
    ignored = _vehicle(tm, actor).ignored_actors
    if detect:
        ignored.discard(actor_id(other))
    else:
        ignored.add(actor_id(other))


@tm_rpc("update_vehicle_lights")
def update_vehicle_lights(tm: PortControl, actor: Any, do_update: bool) -> None:
    _vehicle(tm, actor).update_lights = bool(do_update)


# -- lane changes ------------------------------------------------------------------------------
@tm_rpc("set_auto_lane_change")
def set_auto_lane_change(tm: PortControl, actor: Any, enable: bool) -> None:
    _vehicle(tm, actor).auto_lane_change = bool(enable)


@tm_rpc("set_force_lane_change")
def set_force_lane_change(tm: PortControl, actor: Any, left: bool) -> None:
    _vehicle(tm, actor).force_lane_change = bool(left)


@tm_rpc("keep_slow_lane_rule_percentage")
def keep_slow_lane_rule_percentage(tm: PortControl, actor: Any, pct: float) -> None:
    """Python's `keep_slow_lane_rule_percentage` (keep to the right lane)."""
    _vehicle(tm, actor).keep_right_pct = float(pct)


@tm_rpc("random_left_lanechange_percentage")
def random_left_lanechange_percentage(tm: PortControl, actor: Any, pct: float) -> None:
    _vehicle(tm, actor).random_left_pct = float(pct)


@tm_rpc("random_right_lanechange_percentage")
def random_right_lanechange_percentage(tm: PortControl, actor: Any, pct: float) -> None:
    _vehicle(tm, actor).random_right_pct = float(pct)


# -- paths and routes --------------------------------------------------------------------------
@tm_rpc("set_path")
def set_path(tm: PortControl, actor: Any, path: list[Any], empty_buffer: bool) -> None:
    """The planned path is re-made on the next step whatever `empty_buffer` says."""
    _new_path(tm, actor, path)


@tm_rpc("update_custom_path")
def update_custom_path(tm: PortControl, actor: int, path: list[Any]) -> None:
    _new_path(tm, actor, path)


@tm_rpc("remove_custom_path")
def remove_custom_path(tm: PortControl, actor: int, remove_path: bool) -> None:
    _new_path(tm, actor, [])


@tm_rpc("set_imported_route")
def set_imported_route(tm: PortControl, actor: Any, route: Any, empty_buffer: bool) -> None:
    _new_route(tm, actor, route)


@tm_rpc("update_imported_route")
def update_imported_route(tm: PortControl, actor: int, route: Any) -> None:
    _new_route(tm, actor, route)


@tm_rpc("remove_imported_route")
def remove_imported_route(tm: PortControl, actor: int, remove_path: bool) -> None:
    _new_route(tm, actor, [])


@tm_rpc("get_next_action")
def get_next_action(tm: PortControl, actor: int) -> None:
    """Nothing to answer: the protocol carries no action.

    CARLA 0.9.16's TrafficManagerServer binds this call as returning void, and the
    remote (TrafficManagerRemote::GetNextAction) returns a default-constructed Action
    whatever comes back, so Python always sees `['Void', None]` from a remote TM
    (tests/test_tm_behaviour_modes.py). Only the in-client TM
    (`--client-traffic-manager`) reports real actions.
    """


@tm_rpc("get_all_actions")
def get_all_actions(tm: PortControl, actor: int) -> None:
    """As get_next_action: a remote TM's `get_all_actions` is always `[]` in 0.9.16."""


# -- hybrid physics and dormant vehicles --------------------------------------------------------
@tm_rpc("set_hybrid_physics_mode")
def set_hybrid_physics_mode(tm: PortControl, mode: bool) -> None:
    tm.settings.hybrid = bool(mode)


@tm_rpc("set_hybrid_physics_radius")
def set_hybrid_physics_radius(tm: PortControl, radius_m: float) -> None:
    tm.settings.hybrid_radius_m = max(0.0, float(radius_m))


@tm_rpc("set_respawn_dormant_vehicles")
def set_respawn_dormant_vehicles(tm: PortControl, mode: bool) -> None:
    tm.settings.respawn_dormant = bool(mode)


@tm_rpc("set_boundaries_respawn_dormant_vehicles")
def set_boundaries_respawn_dormant_vehicles(
    tm: PortControl, lower_m: float, upper_m: float
) -> None:
    tm.settings.set_respawn_bounds(lower_m, upper_m)


@tm_rpc("set_max_boundaries")
def set_max_boundaries(tm: PortControl, lower_m: float, upper_m: float) -> None:
    tm.settings.max_lower_m, tm.settings.max_upper_m = float(lower_m), float(upper_m)
