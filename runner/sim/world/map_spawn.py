"""Recommended spawn points derived from the road network.

CARLA's spawn points are placed by hand in the Unreal level, which does not exist
here (`carla.Map.get_spawn_points()` is empty offline). So they are sampled along
every driving lane, both directions, away from junctions, and thinned so that no two
vehicles would start on top of each other. The order is fixed by (road, section,
lane, s), never by hash order, so every process gets the same list.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from runner.sim.world.geometry import Transform, normalize_yaw

if TYPE_CHECKING:
    import carla

SPACING_M = 25.0
"""Distance between consecutive spawn points on one lane [m]."""
JUNCTION_CLEARANCE_M = 6.0
"""No junction within this distance ahead or behind a spawn point [m]."""
MIN_SEPARATION_M = 5.0
"""Minimum distance between any two spawn points [m]."""
SPAWN_HEIGHT_M = 0.5
"""Height above the road surface (CARLA's hand-placed points sit 0.3-0.6 m up) [m]."""
MIN_LANE_WIDTH_M = 2.5
"""Narrower lane stretches (lanes opening or closing) get no spawn point [m]."""
_SAMPLE_M = 2.0

LaneKey = tuple[int, int, int]


def spawn_points(carla_map: carla.Map) -> list[Transform]:
    """Spawn poses along every driving lane of `carla_map`, in a stable order."""
    grid = _Grid(MIN_SEPARATION_M)
    points: list[Transform] = []
    for lane in _lanes_in_order(carla_map):
        last_s: float | None = None
        for wp in lane:
            if last_s is not None and abs(wp.s - last_s) < SPACING_M:
                continue
            if wp.lane_width < MIN_LANE_WIDTH_M or not _clear_of_junctions(wp):
                continue
            pose = _pose(wp)
            if grid.crowded(pose):
                continue
            grid.add(pose)
            points.append(pose)
            last_s = wp.s
    return points


def _lanes_in_order(carla_map: carla.Map) -> Iterator[list[carla.Waypoint]]:
    """Driving-lane waypoints outside junctions, grouped per lane, in travel order."""
    import carla

    lanes: dict[LaneKey, list[carla.Waypoint]] = {}
    for wp in carla_map.generate_waypoints(_SAMPLE_M):
        if wp.is_junction or wp.lane_type != carla.LaneType.Driving:
            continue
        lanes.setdefault((wp.road_id, wp.section_id, wp.lane_id), []).append(wp)
    for key in sorted(lanes):
        lane = sorted(lanes[key], key=lambda w: w.s)
        yield lane[::-1] if key[2] > 0 else lane


def _clear_of_junctions(wp: carla.Waypoint) -> bool:
    steps = math.ceil(JUNCTION_CLEARANCE_M / _SAMPLE_M)
    for i in range(1, steps + 1):
        d = min(i * _SAMPLE_M, JUNCTION_CLEARANCE_M)
        if any(w.is_junction for w in (*wp.next(d), *wp.previous(d))):
            return False
    return True


def _pose(wp: carla.Waypoint) -> Transform:
    loc, rot = wp.transform.location, wp.transform.rotation
    return Transform(
        float(loc.x), float(loc.y), float(loc.z) + SPAWN_HEIGHT_M, 0.0, normalize_yaw(rot.yaw)
    )


class _Grid:
    """Spatial hash for the minimum-separation test (cells as large as the radius)."""

    def __init__(self, radius: float) -> None:
        self.radius = radius
        self.cells: dict[tuple[int, int], list[Transform]] = {}

    def _cell(self, t: Transform) -> tuple[int, int]:
        return (math.floor(t.x / self.radius), math.floor(t.y / self.radius))

    def crowded(self, t: Transform) -> bool:
        cx, cy = self._cell(t)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for other in self.cells.get((cx + dx, cy + dy), ()):
                    if math.dist(t.location, other.location) < self.radius:
                        return True
        return False

    def add(self, t: Transform) -> None:
        self.cells.setdefault(self._cell(t), []).append(t)
