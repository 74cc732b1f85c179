"""Traffic Manager settings as CARLA's TM API sets them: per TM port and per vehicle.

Plain records written by the RPC handlers (under the service lock) and read by the
driving step. Defaults follow CARLA 0.9.16's TM (Constants.h, Parameters.cpp).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

DEFAULT_SPEED_DIFFERENCE_PCT = 30.0  # vehicles drive 30 % under the limit by default
DEFAULT_LEAD_DISTANCE_M = 2.5
DEFAULT_HYBRID_RADIUS_M = 50.0
DEFAULT_RESPAWN_LOWER_M = 25.0
DEFAULT_RESPAWN_UPPER_M = 100.0
DEFAULT_MAX_LOWER_M = 20.0
DEFAULT_MAX_UPPER_M = 2000.0


@dataclass(slots=True)
class VehicleSettings:
    """Per-vehicle overrides; None means "use the TM's global value"."""

    speed_difference_pct: float | None = None
    desired_speed_kmh: float | None = None
    lane_offset_m: float | None = None
    lead_distance_m: float | None = None
    auto_lane_change: bool = True
    force_lane_change: bool | None = None  # True left, False right; consumed once
    ignore_lights_pct: float = 0.0
    ignore_signs_pct: float = 0.0
    ignore_vehicles_pct: float = 0.0
    ignore_walkers_pct: float = 0.0
    keep_right_pct: float = 0.0
    random_left_pct: float = 0.0
    random_right_pct: float = 0.0
    update_lights: bool = False
    ignored_actors: set[int] = field(default_factory=set)  # set_collision_detection(.., False)
    path: list[tuple[float, float, float]] = field(default_factory=list)
    route: list[int] = field(default_factory=list)  # RoadOption values
    path_version: int = 0  # bumped by every set_path / remove: the driver re-plans
    route_version: int = 0


@dataclass(slots=True)
class TmSettings:
    """One Traffic Manager (one port): its globals and its vehicles' settings."""

    speed_difference_pct: float = DEFAULT_SPEED_DIFFERENCE_PCT
    lane_offset_m: float = 0.0
    lead_distance_m: float = DEFAULT_LEAD_DISTANCE_M
    synchronous: bool = False
    synchronous_timeout_ms: float = 0.0
    hybrid: bool = False
    hybrid_radius_m: float = DEFAULT_HYBRID_RADIUS_M
    respawn_dormant: bool = False
    respawn_lower_m: float = DEFAULT_RESPAWN_LOWER_M
    respawn_upper_m: float = DEFAULT_RESPAWN_UPPER_M
    max_lower_m: float = DEFAULT_MAX_LOWER_M
    max_upper_m: float = DEFAULT_MAX_UPPER_M
    osm_mode: bool = False
    seed: int | None = None
    vehicles: dict[int, VehicleSettings] = field(default_factory=dict)

    def vehicle(self, actor_id: int) -> VehicleSettings:
        """Settings of a vehicle, created on first use (CARLA accepts them before registering)."""
        found = self.vehicles.get(actor_id)
        if found is None:
            found = self.vehicles[actor_id] = VehicleSettings()
        return found

    def set_respawn_bounds(self, lower_m: float, upper_m: float) -> None:
        """Clamped to the TM's maximum bounds, as CARLA's Parameters do."""
        self.respawn_lower_m = max(self.max_lower_m, float(lower_m))
        self.respawn_upper_m = min(self.max_upper_m, float(upper_m))

    def speed_pct(self, v: VehicleSettings) -> float:
        return (
            self.speed_difference_pct if v.speed_difference_pct is None else v.speed_difference_pct
        )

    def lane_offset(self, v: VehicleSettings) -> float:
        return self.lane_offset_m if v.lane_offset_m is None else v.lane_offset_m

    def lead_distance(self, v: VehicleSettings) -> float:
        return self.lead_distance_m if v.lead_distance_m is None else v.lead_distance_m


KNOBS = (
    "speed_pct",
    "desired_kmh",  # nan: none set
    "lane_offset_m",
    "lead_m",
    "ignore_lights_pct",
    "ignore_signs_pct",
    "ignore_vehicles_pct",
    "ignore_walkers_pct",
    "random_left_pct",
    "random_right_pct",
    "keep_right_pct",
    "auto_lane_change",
    "force_lane_change",  # nan none, 1 left, 0 right
    "update_lights",
    "has_path",
    "has_route",
    "has_ignored",
    "path_version",
    "route_version",
    "hybrid",
    "hybrid_radius_m",
    "respawn",
    "respawn_upper_m",
)
_COLUMN = {name: i for i, name in enumerate(KNOBS)}


def _knob_row(t: TmSettings, v: VehicleSettings) -> tuple[float, ...]:
    force = v.force_lane_change
    return (
        t.speed_pct(v),
        np.nan if v.desired_speed_kmh is None else v.desired_speed_kmh,
        t.lane_offset(v),
        t.lead_distance(v),
        v.ignore_lights_pct,
        v.ignore_signs_pct,
        v.ignore_vehicles_pct,
        v.ignore_walkers_pct,
        v.random_left_pct,
        v.random_right_pct,
        v.keep_right_pct,
        v.auto_lane_change,
        np.nan if force is None else float(force),
        v.update_lights,
        bool(v.path),
        bool(v.route),
        bool(v.ignored_actors),
        v.path_version,
        v.route_version,
        t.hybrid,
        t.hybrid_radius_m,
        t.respawn_dormant,
        t.respawn_upper_m,
    )


class Knobs:
    """Every row's effective settings as columns, read in one pass per step (fast for 500)."""

    def __init__(self, tm: Sequence[TmSettings], per: Sequence[VehicleSettings]) -> None:
        rows = [_knob_row(t, v) for t, v in zip(tm, per, strict=True)]
        self._data = np.array(rows, dtype=np.float64).reshape(len(rows), len(KNOBS))

    def f(self, name: str) -> NDArray[np.float64]:
        return self._data[:, _COLUMN[name]]

    def b(self, name: str) -> NDArray[np.bool_]:
        return self._data[:, _COLUMN[name]] > 0.5

    def any(self, name: str) -> bool:
        return bool(self.b(name).any())
