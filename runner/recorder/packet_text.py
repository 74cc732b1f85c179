"""Per-packet text of `show_recorder_file_info` (carla-recorder.md section 2.3).

Each function takes a packet's data and returns `(count, text)`: the record count
decides whether the lazy frame line is due (None: always due, as for PlatformTime).
Numbers go through `cpp_float`, so floats print exactly as C++'s default `<<`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from runner.recorder import format as fmt
from runner.recorder import reader
from runner.recorder.format import PacketId, cpp_float

PacketText = tuple[int | None, str]

LIGHT_NAMES = (  # (bit, name) in the order the query prints them
    (1, "Position"),
    (2, "LowBeam"),
    (4, "HighBeam"),
    (8, "Brake"),
    (16, "RightBlinker"),
    (32, "LeftBlinker"),
    (64, "Reverse"),
    (256, "Interior"),
    (128, "Fog"),
    (512, "Special1"),
    (1024, "Special2"),
)
DOOR_NAMES = ("Front Left", "Front Right", "Rear Left", "Rear Right", "Hood", "Trunk", "All")
GEAR_SWITCH_TIME_DEFAULT = 0.5  # not stored in the file; the query prints the default


def vec(values: Iterable[float]) -> str:
    return "(" + ", ".join(cpp_float(v) for v in values) + ")"


def event_add(data: reader.Bytes) -> PacketText:
    lines = []
    for e in reader.read_event_adds(data):
        lines.append(f" Create {e.id}: {e.type_id} ({e.type}) at {vec(e.location)}\n")
        lines.extend(f"  {a.id} = {a.value}\n" for a in e.attributes)
    return reader.read_count(data), "".join(lines)


def event_del(data: reader.Bytes) -> PacketText:
    ids = reader.read_ids(data)
    return len(ids), "".join(f" Destroy {i}\n" for i in ids)


def event_parent(data: reader.Bytes) -> PacketText:
    rows = reader.read_records(data, fmt.PARENT)
    return len(rows), "".join(f" Parenting {c} with {p} (parent)\n" for c, p in rows)


def collision(data: reader.Bytes) -> PacketText:
    lines = []
    for cid, id1, id2, hero1, hero2 in reader.read_records(data, fmt.COLLISION):
        first = f" Collision id {cid} between {id1}" + (" (hero) " if hero1 else "")
        lines.append(first + f" with {id2}" + (" (hero) " if hero2 else "") + "\n")
    return len(lines), "".join(lines)


def _counted(title: str, rows: list[str]) -> PacketText:
    return len(rows), f" {title}: {len(rows)}\n" + "".join(rows)


def position(data: reader.Bytes) -> PacketText:
    rows = [
        f"  Id: {r[0]} Location: {vec(r[1:4])} Rotation: {vec(r[4:7])}\n"
        for r in reader.read_records(data, fmt.POSITION)
    ]
    return _counted("Positions", rows)


def state(data: reader.Bytes) -> PacketText:
    rows = [
        f"  Id: {i} state: {chr((0x30 + s) & 0xFF)} frozen: {int(frozen)}"
        f" elapsedTime: {cpp_float(t)}\n"
        for i, frozen, t, s in reader.read_records(data, fmt.STATE)
    ]
    return _counted("State traffic lights", rows)


def anim_vehicle(data: reader.Bytes) -> PacketText:
    rows = [
        f"  Id: {i} Steering: {cpp_float(s)} Throttle: {cpp_float(t)} Brake: {cpp_float(b)}"
        f" Handbrake: {int(h)} Gear: {g}\n"
        for i, s, t, b, h, g in reader.read_records(data, fmt.ANIM_VEHICLE)
    ]
    return _counted("Vehicle animations", rows)


def anim_walker(data: reader.Bytes) -> PacketText:
    rows = [
        f"  Id: {i} speed: {cpp_float(v)}\n" for i, v in reader.read_records(data, fmt.ANIM_WALKER)
    ]
    return _counted("Walker animations", rows)


def vehicle_door(data: reader.Bytes) -> PacketText:
    rows = []
    for i, door, _is_open in reader.read_records(data, fmt.DOOR):
        name = f" {DOOR_NAMES[door]} \n" if door < len(DOOR_NAMES) else ""
        rows.append(f"  Id: {i}\n  Doors opened: {name}")
    return _counted("Vehicle door animations", rows)


def vehicle_light(data: reader.Bytes) -> PacketText:
    rows = []
    for i, bits in reader.read_records(data, fmt.VEHICLE_LIGHT):
        names = " ".join(name for bit, name in LIGHT_NAMES if bits & bit)
        rows.append(f"  Id: {i} {names or 'None'}\n")
    return _counted("Vehicle light animations", rows)


def scene_light(data: reader.Bytes) -> PacketText:
    rows = [
        f"  Id: {r[0]} enabled: {'True' if r[6] else 'False'} intensity: {cpp_float(r[1])}"
        f" RGB_color: {vec(r[2:5])}\n"
        for r in reader.read_records(data, fmt.SCENE_LIGHT)
    ]
    return _counted("Scene light changes", rows)


def kinematics(data: reader.Bytes) -> PacketText:
    rows = [
        f"  Id: {r[0]} linear_velocity: {vec(r[1:4])} angular_velocity: {vec(r[4:7])}\n"
        for r in reader.read_records(data, fmt.KINEMATICS)
    ]
    return _counted("Dynamic actors", rows)


def _boxes(title: str) -> Callable[[reader.Bytes], PacketText]:
    def text(data: reader.Bytes) -> PacketText:
        rows = [
            f"  Id: {r[0]} origin: {vec(r[1:4])} extension: {vec(r[4:7])}\n"
            for r in reader.read_records(data, fmt.BOX)
        ]
        return _counted(title, rows)

    return text


def platform_time(data: reader.Bytes) -> PacketText:
    return None, f" Current platform time: {cpp_float(fmt.F64.unpack_from(data, 0)[0])}\n"


def traffic_light_time(data: reader.Bytes) -> PacketText:
    rows = [
        f"  Id: {i} green_time: {cpp_float(g)} yellow_time: {cpp_float(y)}"
        f" red_time: {cpp_float(r)}\n"
        for i, g, y, r in reader.read_records(data, fmt.TRAFFIC_LIGHT_TIME)
    ]
    return _counted("Traffic Light time events", rows)


def walker_bones(data: reader.Bytes) -> PacketText:
    walkers = reader.read_walker_bones(data)
    lines = [f" Walkers Bones: {len(walkers)}\n"]
    for walker_id, bones in walkers:
        lines.append(f"  Id: {walker_id}\n")
        lines.extend(
            f'     Bone: "{b.name}" relative: Loc{vec(b.location)} Rot{vec(b.rotation)}\n'
            for b in bones
        )
    return len(walkers), "".join(lines) + "\n"


def _physics_record(c: reader.PhysicsControl) -> str:
    h = c.head
    names = (
        "max_rpm",
        "MOI",
        "damping_rate_full_throttle",
        "damping_rate_zero_throttle_clutch_engaged",
        "damping_rate_zero_throttle_clutch_disengaged",
    )
    lines = [f"  Id: {c.id}\n"]
    lines += [f"   {n} = {cpp_float(v)}\n" for n, v in zip(names, h[:5], strict=True)]
    lines.append(f"   use_gear_auto_box = {'true' if h[5] else 'false'}\n")
    lines.append(f"   gear_switch_time = {cpp_float(GEAR_SWITCH_TIME_DEFAULT)}\n")
    tail = ("clutch_strength", "final_ratio", "mass", "drag_coefficient")
    lines += [f"   {n} = {cpp_float(v)}\n" for n, v in zip(tail, h[6:10], strict=True)]
    lines.append(f"   center_of_mass = {vec(h[10:13])}\n")
    lines.append("   torque_curve =" + "".join(f" {vec(p)}" for p in c.torque_curve) + "\n")
    lines.append("   steering_curve =" + "".join(f" {vec(p)}" for p in c.steering_curve) + "\n")
    lines.append("   forward_gears:\n")
    lines += [
        f"    gear {k}: ratio {cpp_float(r)} down_ratio {cpp_float(d)} up_ratio {cpp_float(u)}\n"
        for k, (r, d, u) in enumerate(c.forward_gears)
    ]
    lines.append("   wheels:\n")
    lines += [_wheel_line(k, w) for k, w in enumerate(c.wheels)]
    return "".join(lines)


def _wheel_line(k: int, w: tuple[float, ...]) -> str:
    """Raw 0.9.16 wheel: 6 printed floats, 3 stiffness values, position."""
    return (
        f"    wheel {k}: tire_friction {cpp_float(w[0])} damping_rate {cpp_float(w[1])}"
        f" max_steer_angle {cpp_float(w[2])} radius {cpp_float(w[3])}"
        f" max_brake_torque {cpp_float(w[4])} max_handbrake_torque {cpp_float(w[5])}"
        f" position {vec(w[9:12])}\n"
    )


def physics_control(data: reader.Bytes) -> PacketText:
    controls = reader.read_physics_controls(data)
    body = "".join(_physics_record(c) for c in controls)
    return len(controls), f" Physics Control events: {len(controls)}\n" + body


TextFn = Callable[[reader.Bytes], PacketText]

ALWAYS: dict[int, TextFn] = {  # printed whatever show_all says
    PacketId.EVENT_ADD: event_add,
    PacketId.EVENT_DEL: event_del,
    PacketId.EVENT_PARENT: event_parent,
    PacketId.COLLISION: collision,
}
SHOW_ALL: dict[int, TextFn] = {  # printed only with show_all
    PacketId.POSITION: position,
    PacketId.STATE: state,
    PacketId.ANIM_VEHICLE: anim_vehicle,
    PacketId.ANIM_WALKER: anim_walker,
    PacketId.VEHICLE_DOOR: vehicle_door,
    PacketId.VEHICLE_LIGHT: vehicle_light,
    PacketId.SCENE_LIGHT: scene_light,
    PacketId.KINEMATICS: kinematics,
    PacketId.BOUNDING_BOX: _boxes("Actor bounding boxes"),
    PacketId.TRIGGER_VOLUME: _boxes("Actor trigger volumes"),
    PacketId.PLATFORM_TIME: platform_time,
    PacketId.PHYSICS_CONTROL: physics_control,
    PacketId.TRAFFIC_LIGHT_TIME: traffic_light_time,
    PacketId.WALKER_BONES: walker_bones,
}
