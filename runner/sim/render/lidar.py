"""`sensor.lidar.ray_cast` against the rendered scene: a cube of depth views per step.

Each step covers the slice of the rotation swept in `delta_seconds`; only the cube
faces that slice's rays meet are rendered (unshaded: tags and depth), then every ray
reads the depth of its pixel. Attributes, drop-off and intensity follow CARLA
(carla-sensors.md sections 1 and 8); the payload is carla-protocol.md section 7.3.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from runner.sim.render import labels
from runner.sim.render.renderer import CameraRequest, Renderer
from runner.sim.world.actors import Actor
from runner.sim.world.geometry import Transform

SENSOR_LIDAR = 11
FACE_PX = 384
_HEADER = struct.Struct("<QQd6f")
# cube faces as (pitch, yaw) relative to the sensor: front, right, back, left, up, down
# (up/down tilt a hair off 90 degrees so the pose keeps a well-defined yaw)
_FACES = ((0.0, 0.0), (0.0, 90.0), (0.0, 180.0), (0.0, 270.0), (89.9, 0.0), (-89.9, 0.0))
_DEFAULTS = {
    "channels": "32",
    "range": "10.0",
    "points_per_second": "56000",
    "rotation_frequency": "10.0",
    "upper_fov": "10.0",
    "lower_fov": "-30.0",
    "horizontal_fov": "360.0",
    "atmosphere_attenuation_rate": "0.004",
    "dropoff_general_rate": "0.45",
    "dropoff_intensity_limit": "0.8",
    "dropoff_zero_intensity": "0.4",
    "noise_stddev": "0.0",
    "noise_seed": "0",
}


class LidarScanner:
    """One lidar's rotating state (angle, noise generator) and its per-step scan."""

    def __init__(self, renderer: Renderer, attributes: Mapping[str, str]) -> None:
        self.renderer = renderer
        attr = {**_DEFAULTS, **attributes}
        self.channels = int(attr["channels"])
        self.range_m = float(attr["range"])
        self.points_per_second = int(float(attr["points_per_second"]))
        self.rotation_hz = float(attr["rotation_frequency"])
        self.upper_deg, self.lower_deg = float(attr["upper_fov"]), float(attr["lower_fov"])
        self.hfov_deg = float(attr["horizontal_fov"])
        self.attenuation = float(attr["atmosphere_attenuation_rate"])
        self.drop_general = float(attr["dropoff_general_rate"])
        self.drop_limit = float(attr["dropoff_intensity_limit"])
        self.drop_zero = float(attr["dropoff_zero_intensity"])
        self.noise_m = float(attr["noise_stddev"])
        self.rng = np.random.default_rng(int(float(attr["noise_seed"])))
        self.angle_deg = 0.0  # where the previous sweep ended

    def laser_pitches_deg(self) -> NDArray[np.float64]:
        if self.channels == 1:
            return np.array([self.upper_deg])
        return np.linspace(self.upper_deg, self.lower_deg, self.channels)

    def step_angles_deg(self, delta_seconds: float) -> NDArray[np.float64]:
        """Horizontal angles of this step's rays (same for every channel); advances state."""
        per_laser = round(self.points_per_second * delta_seconds / self.channels)
        sweep = self.rotation_hz * self.hfov_deg * delta_seconds
        step = sweep / per_laser if per_laser else 0.0
        angles = np.fmod(self.angle_deg + step * np.arange(per_laser), self.hfov_deg)
        self.angle_deg = math.fmod(self.angle_deg + sweep, self.hfov_deg)
        return np.asarray(angles - self.hfov_deg / 2.0)

    def scan(
        self,
        frame: int,
        timestamp: float,
        sensor_transform: Transform,
        delta_seconds: float,
        actors: Sequence[Actor] = (),
    ) -> bytes:
        """The payload of one step: header, per-channel counts, then x, y, z, intensity."""
        yaw = np.radians(self.step_angles_deg(delta_seconds))
        pitch = np.radians(self.laser_pitches_deg())
        p, y = np.meshgrid(pitch, yaw, indexing="ij")  # (channels, per_laser)
        dirs = np.stack([np.cos(p) * np.cos(y), np.cos(p) * np.sin(y), np.sin(p)], axis=-1)
        dist = self._cast(sensor_transform, dirs.reshape(-1, 3), actors).reshape(p.shape)
        points, counts = self._detections(dirs, dist)
        words = struct.pack(
            f"<fI{self.channels}I", math.radians(self.angle_deg), self.channels, *counts
        )
        t = sensor_transform
        header = _HEADER.pack(SENSOR_LIDAR, frame, timestamp, t.x, t.y, t.z, t.pitch, t.yaw, t.roll)
        return header + words + points.astype("<f4").tobytes()

    def _cast(
        self, pose: Transform, dirs: NDArray[np.float64], actors: Sequence[Actor]
    ) -> NDArray[np.float64]:
        """Distance along each sensor-local ray to the first hit (inf: no hit in range)."""
        out = np.full(len(dirs), np.inf)
        if len(dirs) == 0:
            return out
        face_of = _face_index(dirs)
        f = FACE_PX / 2.0  # focal length of a 90-degree view
        for face in np.unique(face_of):
            view = pose.compose(Transform(pitch=_FACES[face][0], yaw=_FACES[face][1]))
            rot = pose.rotation_matrix().T @ view.rotation_matrix()  # face axes, sensor frame
            local = dirs[face_of == face] @ rot  # ray in the face camera's axes
            col = np.clip(np.floor(f * local[:, 1] / local[:, 0] + f), 0, FACE_PX - 1)
            row = np.clip(np.floor(-f * local[:, 2] / local[:, 0] + f), 0, FACE_PX - 1)
            req = CameraRequest(view, FACE_PX, FACE_PX, 90.0, frozenset({"depth"}))
            depth, tags = self.renderer.depth_and_tags(req, actors, self.range_m)
            r, c = row.astype(np.intp), col.astype(np.intp)
            d = depth[r, c] / local[:, 0]
            out[face_of == face] = np.where(tags[r, c] == labels.SKY, np.inf, d)
        return out

    def _detections(
        self, dirs: NDArray[np.float64], dist: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], list[int]]:
        """Noise, range cut, intensity and CARLA's two drop-off stages, per channel."""
        if self.noise_m > 0.0:
            dist = dist + self.rng.normal(0.0, self.noise_m, dist.shape)
        intensity = np.exp(-self.attenuation * dist)
        keep = (dist <= self.range_m) & (self.rng.random(dist.shape) >= self.drop_general)
        keep_prob = (1.0 - self.drop_zero) + self.drop_zero * intensity / max(self.drop_limit, 1e-9)
        keep &= (intensity > self.drop_limit) | (self.rng.random(dist.shape) < keep_prob)
        counts = [int(k.sum()) for k in keep]
        xyz = dirs * np.where(np.isfinite(dist), dist, 0.0)[..., None]
        rows = np.concatenate([xyz, intensity[..., None]], axis=-1)[keep]
        return rows.reshape(-1, 4), counts


def _face_index(dirs: NDArray[np.float64]) -> NDArray[np.intp]:
    """Cube face (index into _FACES) of each sensor-local direction."""
    ax = np.abs(dirs)
    major = ax.argmax(axis=1)
    by_x = np.where(dirs[:, 0] >= 0, 0, 2)
    by_y = np.where(dirs[:, 1] >= 0, 1, 3)
    by_z = np.where(dirs[:, 2] >= 0, 4, 5)
    return np.asarray(np.choose(major, [by_x, by_y, by_z]))


def lidar_payload(
    frame: int,
    timestamp: float,
    sensor_transform: Transform,
    attributes: Mapping[str, str],
    delta_seconds: float,
    state: LidarScanner,
    actors: Sequence[Actor] = (),
) -> bytes:
    """Functional form for the sensor loop: `state` carries the rotation between calls."""
    del attributes  # already bound into `state`
    return state.scan(frame, timestamp, sensor_transform, delta_seconds, actors)
