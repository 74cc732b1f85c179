"""Vehicle and walker calls: controls, physics control, lights, doors, wheels, telemetry."""

from __future__ import annotations

import math
from typing import Any

from runner.sim import actions
from runner.sim.handlers.registry import CallContext, rpc
from runner.sim.protocol import codec
from runner.sim.world.actors import Actor

DEFAULT_ACKERMANN = [0.15, 0.0, 0.25, 0.01, 0.0, 0.01]
MAX_STEER_DEG = 70.0


def default_physics_control(actor: Actor) -> list[Any]:
    """A PhysX-like description consistent with the actor's box (mass from its volume)."""
    ex, ey, ez = actor.bounding_box.extent
    mass = max(150.0, 8 * ex * ey * ez * 180.0)
    wheel_x, wheel_y = ex * 0.6, ey * 0.8
    wheels = [
        [3.5, 0.25, steer, 0.35, 700.0, 3000.0 if rear else 0.0, 3.0, 17.0, 3000.0, [x, y, 0.35]]
        for (x, y, steer, rear) in (
            (wheel_x, -wheel_y, MAX_STEER_DEG, False),
            (wheel_x, wheel_y, MAX_STEER_DEG, False),
            (-wheel_x, -wheel_y, 0.0, True),
            (-wheel_x, wheel_y, 0.0, True),
        )
    ]
    return [
        [[0.0, 500.0], [5000.0, 500.0]],
        5000.0,
        1.0,
        0.15,
        2.0,
        0.35,
        True,
        0.5,
        10.0,
        4.0,
        [[3.7, 0.2, 0.65], [2.1, 0.5, 0.65], [1.4, 0.5, 0.65], [1.0, 0.5, 0.65]],
        mass,
        0.3,
        [0.0, 0.0, 0.0],
        [[0.0, 1.0], [20.0, 0.9], [60.0, 0.8], [120.0, 0.7]],
        wheels,
        True,
    ]


@rpc("apply_control_to_vehicle", "void")
def apply_control_to_vehicle(ctx: CallContext, actor_id: int, control: Any) -> None:
    actions.apply_vehicle_control(ctx.sim, actor_id, codec.parse_vehicle_control(control))


@rpc("apply_ackermann_control_to_vehicle", "void")
def apply_ackermann_control_to_vehicle(ctx: CallContext, actor_id: int, control: Any) -> None:
    """Ackermann targets become a plain control: steer angle and speed error."""
    actor = actions.require_vehicle(ctx.sim, actor_id)
    steer_rad, _rate, speed, _accel, _jerk = (float(v) for v in list(control)[:5])
    assert actor.vehicle is not None
    error = speed - actor.vehicle.speed_mps
    actor.vehicle.control = codec.parse_vehicle_control(
        [
            max(0.0, min(1.0, error)),
            math.degrees(steer_rad) / MAX_STEER_DEG,
            max(0.0, min(1.0, -error)),
            False,
            speed < 0,
        ]
    )


@rpc("get_ackermann_controller_settings")
def get_ackermann_controller_settings(ctx: CallContext, actor_id: int) -> list[float]:
    actions.require_vehicle(ctx.sim, actor_id)
    return ctx.sim.episode.ackermann.get(int(actor_id), DEFAULT_ACKERMANN)


@rpc("apply_ackermann_controller_settings", "void")
def apply_ackermann_controller_settings(ctx: CallContext, actor_id: int, settings: Any) -> None:
    actions.require_vehicle(ctx.sim, actor_id)
    ctx.sim.episode.ackermann[int(actor_id)] = [float(v) for v in settings]


@rpc("get_physics_control")
def get_physics_control(ctx: CallContext, actor_id: int) -> list[Any]:
    actor = actions.require_vehicle(ctx.sim, actor_id)
    return ctx.sim.episode.physics_controls.get(actor.id) or default_physics_control(actor)


@rpc("apply_physics_control", "void")
def apply_physics_control(ctx: CallContext, actor_id: int, control: Any) -> None:
    actor = actions.require_vehicle(ctx.sim, actor_id)
    merged = default_physics_control(actor)
    merged[: len(control)] = list(control)
    ctx.sim.episode.physics_controls[actor.id] = merged


@rpc("get_vehicle_light_state")
def get_vehicle_light_state(ctx: CallContext, actor_id: int) -> list[int]:
    actor = actions.require_vehicle(ctx.sim, actor_id)
    assert actor.vehicle is not None
    return [actor.vehicle.light_state]


@rpc("set_vehicle_light_state", "void")
def set_vehicle_light_state(ctx: CallContext, actor_id: int, state: Any) -> None:
    flags = state[0] if isinstance(state, list) else state
    actions.set_light_state(ctx.sim, actor_id, int(flags))


@rpc("open_vehicle_door", "void")
def open_vehicle_door(ctx: CallContext, actor_id: int, door: int) -> None:
    actions.require_vehicle(ctx.sim, actor_id)


@rpc("close_vehicle_door", "void")
def close_vehicle_door(ctx: CallContext, actor_id: int, door: int) -> None:
    actions.require_vehicle(ctx.sim, actor_id)


@rpc("set_wheel_steer_direction", "void")
def set_wheel_steer_direction(ctx: CallContext, actor_id: int, wheel: int, angle: float) -> None:
    actions.require_vehicle(ctx.sim, actor_id)
    ctx.sim.episode.wheel_angles[(int(actor_id), int(wheel), "steer")] = float(angle)


@rpc("get_wheel_steer_angle")
def get_wheel_steer_angle(ctx: CallContext, actor_id: int, wheel: int) -> float:
    actor = actions.require_vehicle(ctx.sim, actor_id)
    assert actor.vehicle is not None
    key = (actor.id, int(wheel), "steer")
    front = int(wheel) in (0, 1)
    return ctx.sim.episode.wheel_angles.get(
        key, actor.vehicle.control.steer * MAX_STEER_DEG if front else 0.0
    )


@rpc("set_wheel_pitch_angle", "void")
def set_wheel_pitch_angle(ctx: CallContext, actor_id: int, wheel: int, angle: float) -> None:
    actions.require_vehicle(ctx.sim, actor_id)
    ctx.sim.episode.wheel_angles[(int(actor_id), int(wheel), "pitch")] = float(angle)


@rpc("get_wheel_pitch_angle")
def get_wheel_pitch_angle(ctx: CallContext, actor_id: int, wheel: int) -> float:
    actions.require_vehicle(ctx.sim, actor_id)
    return ctx.sim.episode.wheel_angles.get((int(actor_id), int(wheel), "pitch"), 0.0)


@rpc("get_vehicle_bone_world_transforms")
def get_vehicle_bone_world_transforms(ctx: CallContext, actor_id: int) -> list[Any]:
    actions.require_vehicle(ctx.sim, actor_id)
    return []


@rpc("get_telemetry_data")
def get_telemetry_data(ctx: CallContext, actor_id: int) -> list[Any]:
    actor = actions.require_vehicle(ctx.sim, actor_id)
    v = actor.vehicle
    assert v is not None
    c = v.control
    rpm = abs(v.speed_mps) * 60.0
    wheel = [3.5, 0.0, 0.0, v.speed_mps / 0.35, 3000.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    return [abs(v.speed_mps), c.steer, c.throttle, c.brake, rpm, c.gear, 0.0, [wheel] * 4]


@rpc("show_vehicle_debug_telemetry", "void")
def show_vehicle_debug_telemetry(ctx: CallContext, actor_id: int, enabled: bool) -> None:
    actions.require_vehicle(ctx.sim, actor_id)


# -- walkers: accepted on the actor, not animated (walker AI arrives with its own issue) --
@rpc("apply_control_to_walker", "void")
def apply_control_to_walker(ctx: CallContext, actor_id: int, control: Any) -> None:
    actor = actions.require(ctx.sim, actor_id)
    direction = codec.parse_vec3(control[0])
    speed = float(control[1])
    actor.velocity = (direction[0] * speed, direction[1] * speed, direction[2] * speed)


@rpc("get_bones_transform")
def get_bones_transform(ctx: CallContext, actor_id: int) -> list[Any]:
    actions.require(ctx.sim, actor_id)
    return [[]]


@rpc("set_bones_transform", "void")
def set_bones_transform(ctx: CallContext, actor_id: int, bones: Any) -> None:
    actions.require(ctx.sim, actor_id)


@rpc("blend_pose", "void")
def blend_pose(ctx: CallContext, actor_id: int, blend: float) -> None:
    actions.require(ctx.sim, actor_id)


@rpc("get_pose_from_animation", "void")
def get_pose_from_animation(ctx: CallContext, actor_id: int) -> None:
    actions.require(ctx.sim, actor_id)
