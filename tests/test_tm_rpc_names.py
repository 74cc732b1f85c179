"""Our Traffic Manager answers every RPC the installed client's remote TM can send.

The names and argument types come from the client library (`tests/carla_tm_rpc.py`), so a
carla upgrade that adds a TM call fails here instead of timing out a user's call. The
literal below was read from CARLA 0.9.16's TrafficManagerClient.h, only to check the
extractor: where the header and the binary differ, the binary wins.
"""

from __future__ import annotations

import inspect

from runner.sim.traffic.methods import TM_METHODS
from tests.carla_tm_rpc import tm_rpc_calls, tm_rpc_names

REFERENCE_TM_NAMES = frozenset(
    (
        "get_all_actions",
        "get_next_action",
        "health_check_remote_TM",
        "keep_slow_lane_rule_percentage",
        "random_left_lanechange_percentage",
        "random_right_lanechange_percentage",
        "register_vehicle",
        "remove_custom_path",
        "remove_imported_route",
        "set_auto_lane_change",
        "set_boundaries_respawn_dormant_vehicles",
        "set_collision_detection",
        "set_desired_speed",
        "set_distance_to_leading_vehicle",
        "set_force_lane_change",
        "set_global_distance_to_leading_vehicle",
        "set_global_lane_offset",
        "set_global_percentage_speed_difference",
        "set_hybrid_physics_mode",
        "set_hybrid_physics_radius",
        "set_imported_route",
        "set_lane_offset",
        "set_max_boundaries",
        "set_osm_mode",
        "set_path",
        "set_percentage_ignore_vehicles",
        "set_percentage_ignore_walkers",
        "set_percentage_running_light",
        "set_percentage_running_sign",
        "set_percentage_speed_difference",
        "set_random_device_seed",
        "set_respawn_dormant_vehicles",
        "set_synchronous_mode",
        "set_synchronous_mode_timeout_in_milisecond",
        "shut_down",
        "unregister_vehicle",
        "update_custom_path",
        "update_imported_route",
        "update_vehicle_lights",
    )
)

# A few argument types from the header, to check that demangling reads the right call.
REFERENCE_ARGUMENTS = {
    "register_vehicle": ("std::vector<carla::rpc::Actor, std::allocator<carla::rpc::Actor> >",),
    "set_collision_detection": ("carla::rpc::Actor", "carla::rpc::Actor", "bool"),
    "set_random_device_seed": ("unsigned long",),
    "set_synchronous_mode_timeout_in_milisecond": ("double",),
    "health_check_remote_TM": (),
}


def test_extractor_finds_exactly_the_reference_names() -> None:
    names = tm_rpc_names()
    assert sorted(names - REFERENCE_TM_NAMES) == []
    assert sorted(REFERENCE_TM_NAMES - names) == []


def test_extractor_reads_argument_types() -> None:
    by_name = {call.name: call for call in tm_rpc_calls()}
    for name, expected in REFERENCE_ARGUMENTS.items():
        found = by_name[name].argument_types
        assert found is None or found == expected, name  # None: no c++filt on this machine


def test_every_name_the_remote_can_send_has_a_handler() -> None:
    assert sorted(tm_rpc_names() - set(TM_METHODS)) == []


def test_handlers_take_the_arguments_the_remote_sends() -> None:
    for call in tm_rpc_calls():
        types = call.argument_types
        if types is None:
            continue
        handler = TM_METHODS[call.name]
        parameters = list(inspect.signature(handler).parameters)[1:]  # after the TM itself
        assert len(parameters) == len(types), call.name


def test_the_remote_never_reads_an_answer() -> None:
    """So answering nil is right for every call (only errors and silence hurt)."""
    assert [call.name for call in tm_rpc_calls() if call.reads_result] == []
