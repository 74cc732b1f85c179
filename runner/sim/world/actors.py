"""Actors of the embedded world: plain mutable records, no behaviour beyond bookkeeping.

Physics, traffic lights, collisions, sensors and the protocol read and write these
fields; none of them owns an actor. The episode (`episode.py`) owns the table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from runner.sim.world.geometry import BoundingBox, Transform, Vec3


class ActorKind(enum.Enum):
    """How the world treats an actor; derived from its blueprint id as CARLA does."""

    VEHICLE = "vehicle"
    WALKER = "walker"
    TRAFFIC_LIGHT = "traffic_light"
    TRAFFIC_SIGN = "traffic_sign"
    SENSOR = "sensor"
    SPECTATOR = "spectator"
    PROP = "prop"
    CONTROLLER = "controller"
    OTHER = "other"


def kind_of(type_id: str) -> ActorKind:
    if type_id.startswith("vehicle."):
        return ActorKind.VEHICLE
    if type_id.startswith("walker."):
        return ActorKind.WALKER
    if type_id.startswith("traffic.traffic_light"):
        return ActorKind.TRAFFIC_LIGHT
    if type_id.startswith("traffic."):
        return ActorKind.TRAFFIC_SIGN
    if type_id.startswith("sensor."):
        return ActorKind.SENSOR
    if type_id == "spectator":
        return ActorKind.SPECTATOR
    if type_id.startswith("static."):
        return ActorKind.PROP
    if type_id.startswith("controller."):
        return ActorKind.CONTROLLER
    return ActorKind.OTHER


class TrafficLightState(enum.IntEnum):
    RED = 0
    YELLOW = 1
    GREEN = 2
    OFF = 3
    UNKNOWN = 4


@dataclass(slots=True)
class VehicleControl:
    throttle: float = 0.0
    steer: float = 0.0
    brake: float = 0.0
    hand_brake: bool = False
    reverse: bool = False
    manual_gear_shift: bool = False
    gear: int = 0


@dataclass(slots=True)
class VehicleState:
    """What the world-state stream reports for a vehicle besides its pose."""

    control: VehicleControl = field(default_factory=VehicleControl)
    speed_limit_kmh: float = 30.0
    traffic_light_state: TrafficLightState = TrafficLightState.GREEN
    traffic_light_id: int = 0  # 0 = not at a traffic light
    light_state: int = 0  # carla.VehicleLightState bit flags
    failure_state: int = 0
    speed_mps: float = 0.0  # signed longitudinal speed (negative when reversing)


@dataclass(slots=True)
class TrafficLight:
    """State of one `traffic.traffic_light` actor (times in seconds)."""

    opendrive_id: str
    group_id: int
    pole_index: int
    state: TrafficLightState = TrafficLightState.RED
    green_time: float = 10.0
    yellow_time: float = 3.0
    red_time: float = 2.0
    elapsed_time: float = 0.0
    frozen: bool = False


@dataclass(slots=True)
class Actor:
    """One live actor. `transform` is always the world pose (composed for children)."""

    id: int
    type_id: str
    kind: ActorKind
    attributes: dict[str, tuple[int, str]]  # attribute id -> (ActorAttributeType, value)
    transform: Transform
    bounding_box: BoundingBox = field(default_factory=BoundingBox)
    semantic_tags: bytes = b""
    parent_id: int = 0
    relative_transform: Transform | None = None  # set for attached actors
    velocity: Vec3 = (0.0, 0.0, 0.0)  # [m/s], world frame
    angular_velocity: Vec3 = (0.0, 0.0, 0.0)  # [deg/s]
    acceleration: Vec3 = (0.0, 0.0, 0.0)  # [m/s^2]
    simulate_physics: bool = True
    enable_gravity: bool = True
    collisions_enabled: bool = True
    constant_velocity: Vec3 | None = None  # enable_constant_velocity, local frame [m/s]
    stream_id: int = 0  # non-zero for server-side sensors
    vehicle: VehicleState | None = None
    traffic_light: TrafficLight | None = None
    sign_id: str = ""  # OpenDRIVE id for traffic signs

    def attribute(self, name: str, default: str = "") -> str:
        entry = self.attributes.get(name)
        return entry[1] if entry else default

    @property
    def role_name(self) -> str:
        return self.attribute("role_name")
