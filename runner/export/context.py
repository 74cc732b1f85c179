"""What the export needs besides pixels, as plain data built in the main thread.

`ContextBuilder(world).build(frame, data)` is called by the tick loop once
per captured frame: one `world.get_snapshot()` (poses and velocities of every actor)
plus an actor cache (type ids and bounding boxes are static per actor; new ids are
looked up with one `world.get_actors(ids)`). Sensor poses come from each datum's own
header transform, the pose at which it was measured. Nothing here is used from
worker threads except the resulting frozen data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.export.geometry import F64, PoseTuple, intrinsics, pose_matrix

EXPORTED_ACTOR_PREFIXES = ("vehicle.", "walker.", "traffic.", "static.")
"""Actors with a 3-D box in frames.jsonl (sensors, spectator, controllers are left out)."""


@dataclass(frozen=True)
class ActorState:
    """One actor at one frame: pose, velocity and its (static) bounding box."""

    id: int
    type_id: str
    pose: PoseTuple
    velocity: tuple[float, float, float]
    box_location: tuple[float, float, float]
    box_extent: tuple[float, float, float]

    @property
    def matrix(self) -> F64:
        return pose_matrix(self.pose)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type_id": self.type_id,
            "transform": _pose_json(self.pose),
            "velocity": list(self.velocity),
            "box": {"location": list(self.box_location), "extent": list(self.box_extent)},
        }


@dataclass(frozen=True)
class SensorState:
    """A sensor's world pose when it measured, and its pinhole K (cameras only)."""

    pose: PoseTuple
    width: int | None = None
    height: int | None = None
    fov_deg: float | None = None

    @property
    def matrix(self) -> F64:
        return pose_matrix(self.pose)

    @property
    def k(self) -> F64 | None:
        if self.width is None or self.height is None or self.fov_deg is None:
            return None
        return intrinsics(self.width, self.height, self.fov_deg)

    def as_json(self) -> dict[str, Any]:
        k = self.k
        return {
            "transform": _pose_json(self.pose),
            "matrix": [[round(float(v), 6) for v in row] for row in self.matrix],
            "K": None if k is None else [[float(v) for v in row] for row in k],
            "size": None if self.width is None else [self.width, self.height],
        }


@dataclass(frozen=True)
class FrameContext:
    """Everything needed to re-project a frame: sensors, ego and every actor's box."""

    frame: int
    sim_time_s: float
    snapshot_frame: int
    sensors: Mapping[str, SensorState]
    actors: tuple[ActorState, ...] = ()
    ego_id: int | None = None

    @property
    def ego(self) -> ActorState | None:
        return next((a for a in self.actors if a.id == self.ego_id), None)

    def actors_by_instance_id(self) -> dict[int, ActorState]:
        """Actors by the 16-bit id that instance images carry (G + 256 B)."""
        return {a.id & 0xFFFF: a for a in self.actors}

    def as_json(self) -> dict[str, Any]:
        ego = self.ego
        return {
            "frame": self.frame,
            "sim_time_s": self.sim_time_s,
            "snapshot_frame": self.snapshot_frame,
            "sensors": {name: s.as_json() for name, s in self.sensors.items()},
            "ego": None if ego is None else ego.as_json(),
            "actors": [a.as_json() for a in self.actors],
        }


@dataclass(frozen=True)
class FrameData:
    """One captured frame as the tick loop hands it to `ExportSinks.submit`.

    `data`: sensor name -> the carla datum of this frame (carla.Image,
    carla.LidarMeasurement, carla.GnssMeasurement, carla.IMUMeasurement);
    `events`: event sensor name -> the carla.CollisionEvents that arrived since the last
    captured frame; `dropped`: sensors that were due this frame but delivered nothing
    (capture.Bundle.dropped), counted as dropped by the targets that need them.
    """

    frame: int
    sim_time_s: float
    data: Mapping[str, Any]
    context: FrameContext
    events: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()


def pose_of(transform: Any) -> PoseTuple:
    """A carla.Transform as a plain pose tuple."""
    loc, rot = transform.location, transform.rotation
    return (loc.x, loc.y, loc.z, rot.pitch, rot.yaw, rot.roll)


def _pose_json(pose: PoseTuple) -> dict[str, float]:
    keys = ("x", "y", "z", "pitch", "yaw", "roll")
    return {k: round(float(v), 6) for k, v in zip(keys, pose, strict=True)}


def sensor_state(datum: Any) -> SensorState:
    """The pose (and K for images) from a sensor datum's header."""
    pose = pose_of(datum.transform)
    if hasattr(datum, "fov") and hasattr(datum, "width"):
        return SensorState(pose, int(datum.width), int(datum.height), float(datum.fov))
    return SensorState(pose)


class ContextBuilder:
    """Builds a FrameContext per captured frame from a `carla.World` (main thread only)."""

    def __init__(self, world: Any, ego_id: int | None = None) -> None:
        self.world = world
        self.ego_id = ego_id
        self._static: dict[int, tuple[str, tuple[float, ...], tuple[float, ...]] | None] = {}

    def build(
        self, frame: int, data: Mapping[str, Any], sim_time_s: float | None = None
    ) -> FrameContext:
        """The context of captured frame `frame` (sim time: the snapshot's, if not given)."""
        snapshot = self.world.get_snapshot()
        if sim_time_s is None:
            sim_time_s = float(snapshot.timestamp.elapsed_seconds)
        snaps = list(snapshot)
        self._learn([s.id for s in snaps if s.id not in self._static])
        actors = []
        for snap in snaps:
            static = self._static.get(snap.id)
            if static is None:
                continue
            type_id, location, extent = static
            v = snap.get_velocity()
            actors.append(
                ActorState(
                    snap.id,
                    type_id,
                    pose_of(snap.get_transform()),
                    (v.x, v.y, v.z),
                    (location[0], location[1], location[2]),
                    (extent[0], extent[1], extent[2]),
                )
            )
        sensors = {name: sensor_state(d) for name, d in data.items() if hasattr(d, "transform")}
        return FrameContext(
            frame, sim_time_s, int(snapshot.frame), sensors, tuple(actors), self.ego_id
        )

    def _learn(self, ids: list[int]) -> None:
        if not ids:
            return
        found = {a.id: a for a in self.world.get_actors(ids)}
        for actor_id in ids:
            actor = found.get(actor_id)
            if actor is None or not actor.type_id.startswith(EXPORTED_ACTOR_PREFIXES):
                self._static[actor_id] = None
                continue
            box = actor.bounding_box
            loc, ext = box.location, box.extent
            self._static[actor_id] = (actor.type_id, (loc.x, loc.y, loc.z), (ext.x, ext.y, ext.z))
