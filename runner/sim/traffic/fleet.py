"""The vehicles the Traffic Manager drives, as rows of numpy arrays (one row per vehicle).

Rows keep registration order (sorted ids within one registration), so that for the same
registrations and seed every step draws the same random numbers for the same vehicles.
Each row carries its planned path: `HORIZON` lane samples ahead, a lateral shift per
sample (lane changes blend from the old lane's centre into the new one) and how many of
the entries are real (a dead end shortens the path).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from runner.sim.world.actors import Actor
from runner.sim.world.vehicle_physics import vehicle_limits

HORIZON = 64  # path samples kept ahead of each vehicle (about 64 m)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_FLOAT_COLUMNS = (
    "front_m",  # actor origin to front bumper
    "rear_m",
    "half_width_m",
    "wheelbase_m",
    "max_steer_rad",
    "max_accel",
    "max_brake",
    "top_speed",
    "lane_change_wait_s",  # time until the next lane change may start
    "stopped_s",  # time spent standing still
    "speed",  # own speed estimate (teleported vehicles have none from physics)
    "lc_shift0",  # lateral offset a lane change starts from, fading over lc_blend_m
    "lc_blend_m",
    "lc_roll_s",  # time until the next random / keep-right lane-change roll
    "slow_lead_s",  # time held up by a slow leader
    "force_wait_s",  # time a forced lane change has waited for room
    "z_off",  # dormant vehicles: height of the origin above the lane sample
    "sign_wait_s",  # time stood at the current stop sign
)
_INT_COLUMNS = (
    "id",
    "port",
    "length",
    "light_slot_seen",
    "entry_run_seen",
    "lc_dir",  # lane change under way: lanechange.LEFT / RIGHT, 0 none
    "route_cursor",  # set_route options used
    "route_seen",  # VehicleSettings.route_version the cursor belongs to
    "path_cursor",  # set_path targets reached
    "path_seen",
    "sign_run",  # run whose stop sign this vehicle has served (or decided to run), -1
    "sign_seen",  # run whose stop sign ignore_signs_percentage was rolled for, -1
)
_BOOL_COLUMNS = ("ignore_light", "ignore_junction", "dormant", "committed", "ignore_sign")


@dataclass
class Fleet:
    """Per-vehicle arrays; `actors` holds the world records of the same rows."""

    actors: list[Actor] = field(default_factory=list)
    path: IntArray = field(default_factory=lambda: np.zeros((0, HORIZON), np.int64))
    shift: FloatArray = field(default_factory=lambda: np.zeros((0, HORIZON)))
    cols: dict[str, NDArray[np.generic]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _FLOAT_COLUMNS:
            self.cols.setdefault(name, np.zeros(0))
        for name in _INT_COLUMNS:
            self.cols.setdefault(name, np.zeros(0, np.int64))
        for name in _BOOL_COLUMNS:
            self.cols.setdefault(name, np.zeros(0, bool))

    def __len__(self) -> int:
        return len(self.actors)

    def f(self, name: str) -> FloatArray:
        return self.cols[name]  # type: ignore[return-value]

    def i(self, name: str) -> IntArray:
        return self.cols[name]  # type: ignore[return-value]

    def b(self, name: str) -> BoolArray:
        return self.cols[name]  # type: ignore[return-value]

    @property
    def ids(self) -> IntArray:
        return self.i("id")

    def keep(self, mask: BoolArray) -> None:
        """Drop the rows where mask is False."""
        self.actors = [a for a, k in zip(self.actors, mask.tolist(), strict=True) if k]
        self.path, self.shift = self.path[mask], self.shift[mask]
        for name, column in self.cols.items():
            self.cols[name] = column[mask]

    def add(self, actor: Actor, port: int, start_sample: int) -> None:
        """Append one vehicle, its path starting (and for now ending) at `start_sample`."""
        box, lim = actor.bounding_box, vehicle_limits(actor)
        values: dict[str, float] = {
            "front_m": box.center[0] + box.extent[0],
            "rear_m": box.extent[0] - box.center[0],
            "half_width_m": box.extent[1],
            "wheelbase_m": lim.wheelbase_m,
            "max_steer_rad": lim.max_steer_rad,
            "max_accel": lim.max_accel_mps2,
            "max_brake": lim.max_brake_mps2,
            "top_speed": lim.top_speed_mps,
            "id": actor.id,
            "port": port,
            "length": 1,
            "light_slot_seen": -1,
            "entry_run_seen": -1,
            "sign_run": -1,
            "sign_seen": -1,
        }
        self.actors.append(actor)
        row = np.full((1, HORIZON), start_sample, np.int64)
        self.path = np.concatenate([self.path, row])
        self.shift = np.concatenate([self.shift, np.zeros((1, HORIZON))])
        for name, column in self.cols.items():
            value = values.get(name, 0)
            self.cols[name] = np.append(column, np.array([value], dtype=column.dtype))

    def row_of(self, actor_id: int) -> int:
        found = np.flatnonzero(self.ids == actor_id)
        return int(found[0]) if len(found) else -1
