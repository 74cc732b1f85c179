"""The world-state frame is byte-identical to a plain record-by-record packing.

The reference packs each section of carla-protocol.md section 8 with its own struct
call, the obvious way; `encode_frame` packs the whole frame in one call.
"""

from __future__ import annotations

import random
import struct

from runner.sim.protocol.world_state import RECORD_SIZE, encode_frame
from runner.sim.world.actors import (
    Actor,
    TrafficLight,
    TrafficLightState,
    VehicleControl,
    VehicleState,
    kind_of,
)
from runner.sim.world.geometry import Transform

HEADER = struct.Struct("<QQd6f")
EPISODE = struct.Struct("<Qdf3iI")
COMMON = struct.Struct("<IB6f3f3f3f")
VEHICLE = struct.Struct("<3f???if B?IB")
TRAFFIC_LIGHT = struct.Struct("<32s4fI?B")
SIGN = struct.Struct("<32s")


def reference(
    frame: int, elapsed_s: float, episode: int, now_s: float, dt_s: float, actors: list[Actor]
) -> bytes:
    buf = bytearray(HEADER.size + EPISODE.size + RECORD_SIZE * len(actors))
    HEADER.pack_into(buf, 0, 17, frame, elapsed_s, 0, 0, 0, 0, 0, 0)
    EPISODE.pack_into(buf, HEADER.size, episode, now_s, dt_s, 0, 0, 0, 0)
    offset = HEADER.size + EPISODE.size
    for a in actors:
        t = a.transform
        pose = (t.x, t.y, t.z, t.pitch, t.yaw, t.roll)
        motion = (*a.velocity, *a.angular_velocity, *a.acceleration)
        COMMON.pack_into(buf, offset, a.id, 1, *pose, *motion)
        union = offset + COMMON.size
        if a.vehicle is not None and a.type_id.startswith("vehicle."):
            v, c = a.vehicle, a.vehicle.control
            VEHICLE.pack_into(
                buf,
                union,
                c.throttle,
                c.steer,
                c.brake,
                c.hand_brake,
                c.reverse,
                c.manual_gear_shift,
                c.gear,
                v.speed_limit_kmh,
                int(v.traffic_light_state),
                v.traffic_light_id != 0,
                v.traffic_light_id,
                v.failure_state,
            )
        elif a.traffic_light is not None and a.type_id.startswith("traffic.traffic_light"):
            tl = a.traffic_light
            times = (tl.green_time, tl.yellow_time, tl.red_time, tl.elapsed_time)
            TRAFFIC_LIGHT.pack_into(
                buf,
                union,
                tl.opendrive_id.encode()[:31],
                *times,
                tl.pole_index,
                tl.frozen,
                int(tl.state),
            )
        elif a.type_id.startswith("traffic.") and not a.type_id.startswith("traffic.traffic_"):
            SIGN.pack_into(buf, union, a.sign_id.encode()[:31])
        offset += RECORD_SIZE
    return bytes(buf)


def random_actor(rng: random.Random, actor_id: int) -> Actor:
    """Any kind the world holds, with random state (and the odd missing state record)."""
    type_id = rng.choice(
        (
            "vehicle.tesla.model3",
            "vehicle.tesla.model3",
            "traffic.traffic_light",
            "traffic.stop",
            "walker.pedestrian.0001",
            "sensor.camera.rgb",
            "spectator",
            "static.prop.box",
        )
    )

    def f() -> float:
        return rng.uniform(-500.0, 500.0)

    pose = Transform(f(), f(), f(), f(), f(), f())
    a = Actor(actor_id, type_id, kind_of(type_id), {}, pose)
    a.velocity, a.angular_velocity, a.acceleration = (f(), f(), f()), (f(), f(), 0.0), (f(), 0, f())
    if type_id.startswith("vehicle.") and rng.random() < 0.95:
        light = rng.choice((0, 0, rng.randrange(1, 2**32)))
        control = VehicleControl(
            rng.random(), rng.uniform(-1, 1), rng.random(), *(rng.random() < 0.5 for _ in "abc")
        )
        control.gear = rng.randrange(-1, 7)
        a.vehicle = VehicleState(
            control,
            rng.uniform(0, 130),
            rng.choice(list(TrafficLightState)),
            light,
            failure_state=rng.randrange(0, 4),
        )
    elif type_id == "traffic.traffic_light" and rng.random() < 0.95:
        name = "".join(rng.choice("0123456789_abc") for _ in range(rng.randrange(0, 45)))
        a.traffic_light = TrafficLight(name, rng.randrange(9), rng.randrange(9))
        a.traffic_light.state = rng.choice(list(TrafficLightState))
        a.traffic_light.elapsed_time = rng.uniform(0, 20)
        a.traffic_light.frozen = rng.random() < 0.5
    elif type_id == "traffic.stop":
        a.sign_id = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 40)))
    return a


def test_random_worlds_pack_as_the_reference() -> None:
    rng = random.Random(3)
    for frame in range(200):
        actors = [random_actor(rng, k + 1) for k in range(rng.choice((0, 1, 5, 60, 250)))]
        args = (frame, frame * 0.05, 2**63 + frame, 1.7e9 + frame, 0.05)
        assert encode_frame(*args, actors) == reference(*args, actors)


def test_the_same_world_packs_alike_after_other_worlds() -> None:
    """The compiled whole-frame packers are kept per sequence of record kinds."""
    rng = random.Random(5)
    worlds = [[random_actor(rng, k + 1) for k in range(30)] for _ in range(7)]
    for _ in range(3):
        for world in worlds:
            assert encode_frame(1, 0.1, 7, 2.0, 0.05, world) == reference(
                1, 0.1, 7, 2.0, 0.05, world
            )


def test_the_simulation_state_goes_in_the_episode_header() -> None:
    payload = encode_frame(4, 0.2, 9, 1.0, 0.05, [], simulation_state=3)
    assert EPISODE.unpack_from(payload, HEADER.size)[-1] == 3
    assert len(payload) == HEADER.size + EPISODE.size
