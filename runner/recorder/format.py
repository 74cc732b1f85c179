"""CARLA recorder file primitives: packet ids, structs, strings, C++ number text.

Everything is little-endian and packed (carla-recorder.md section 3). Struct objects
are module constants so the per-frame writer and the reader share one definition.
"""

from __future__ import annotations

import enum
import math
import struct

MAGIC = "CARLA_RECORDER"
# 0.9.16's own version number is unverified (1 or 2, reference section 3.2). We write
# 2: our attribute types use 0.9.16's base 1, and version 2 is what tells newer
# replayers not to shift them; 0.9.16 and older readers ignore the number. Both read.
VERSION = 2
READABLE_VERSIONS = frozenset({1, 2})
NON_ACTOR_ID = 0xFFFFFFFF  # a collision with something that is not an actor (0.9.13+)


class PacketId(enum.IntEnum):
    """0.9.16 packet ids (24 Weather is post-0.9.16 and only skipped)."""

    FRAME_START = 0
    FRAME_END = 1
    EVENT_ADD = 2
    EVENT_DEL = 3
    EVENT_PARENT = 4
    COLLISION = 5
    POSITION = 6
    STATE = 7
    ANIM_VEHICLE = 8
    ANIM_WALKER = 9
    VEHICLE_LIGHT = 10
    SCENE_LIGHT = 11
    KINEMATICS = 12
    BOUNDING_BOX = 13
    PLATFORM_TIME = 14
    PHYSICS_CONTROL = 15
    TRAFFIC_LIGHT_TIME = 16
    TRIGGER_VOLUME = 17
    FRAME_COUNTER = 18
    WALKER_BONES = 19
    VISUAL_TIME = 20
    ANIM_VEHICLE_WHEELS = 21
    ANIM_BIKER = 22
    VEHICLE_DOOR = 23


class ActorType(enum.IntEnum):
    """EventAdd actor type (`FCarlaActor::ActorType`)."""

    OTHER = 0
    VEHICLE = 1
    WALKER = 2
    TRAFFIC_LIGHT = 3
    TRAFFIC_SIGN = 4
    SENSOR = 5
    INVALID = 6


HEADER = struct.Struct("<BI")  # packet id, data size
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
I64 = struct.Struct("<q")
F64 = struct.Struct("<d")
FRAME = struct.Struct("<Qdd")  # frame id, duration_this [s], elapsed [s]
ADD_HEAD = struct.Struct("<IB6fI")  # id, type, location [cm], rotation [deg], uid
PARENT = struct.Struct("<II")
COLLISION = struct.Struct("<III??")
POSITION = struct.Struct("<I6f")  # id, location [cm], rotation (roll, pitch, yaw) [deg]
STATE = struct.Struct("<I?fB")  # id, frozen, elapsed [s], state
ANIM_VEHICLE = struct.Struct("<Ifff?i")
ANIM_WALKER = struct.Struct("<If")
VEHICLE_LIGHT = struct.Struct("<II")
SCENE_LIGHT = struct.Struct("<if4f?B")
KINEMATICS = struct.Struct("<I6f")
BOX = struct.Struct("<I6f")
TRAFFIC_LIGHT_TIME = struct.Struct("<I3f")
VEC3 = struct.Struct("<3f")
BONE = struct.Struct("<6f")
DOOR = struct.Struct("<IB?")
WHEEL = struct.Struct("<Bff")
BIKER = struct.Struct("<Iff")
PHYSICS_HEAD = struct.Struct("<I5f?7f")
PHYSICS_WHEEL = struct.Struct("<12f")

HEADER_SIZE = HEADER.size


def encode_string(text: str) -> bytes:
    """u16 byte length + UTF-8 bytes, no terminator."""
    raw = text.encode("utf-8")
    return U16.pack(len(raw)) + raw


def decode_string(data: bytes | memoryview, offset: int) -> tuple[str, int]:
    """The string at `offset` and the offset just past it."""
    (length,) = U16.unpack_from(data, offset)
    start = offset + 2
    end = start + length
    if end > len(data):
        raise ValueError("string runs past the end of its packet")
    return bytes(data[start:end]).decode("utf-8", errors="replace"), end


def cpp_float(x: float) -> str:
    """What `std::ostream << x` prints by default (`%.6g`): 1e+06, -0, inf, -nan."""
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return format(x, ".6g")


def f32(x: float) -> float:
    """Round a double to the nearest float32, as storing it in a C++ float does."""
    return float(struct.unpack("<f", struct.pack("<f", x))[0])
