"""Sampling the OpenDRIVE lanes of a `carla.Map` into numpy polylines.

CARLA's own road logic (the real `carla.Map`) does the geometry: lane centres,
widths, elevation and markings. This module only walks it once per map, following
each topology segment and stepping outward from the outermost driving lane to pick
up shoulders, parking lanes and sidewalks at the same s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from runner.sim.world.geometry import rotation_matrix

F64 = NDArray[np.float64]


@dataclass
class LaneSamples:
    """One lane of one topology segment, sampled every few metres."""

    lane_type: str
    lane_id: int
    centers: list[tuple[float, float, float]] = field(default_factory=list)
    rights: list[NDArray[np.float64]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    s: list[float] = field(default_factory=list)
    junction: list[bool] = field(default_factory=list)
    left_marks: list[tuple[str, str]] = field(default_factory=list)
    right_marks: list[tuple[str, str]] = field(default_factory=list)
    draw_left: list[bool] = field(default_factory=list)

    def arrays(self) -> tuple[F64, F64, F64]:
        """(centres (N,3), right unit vectors (N,3), widths (N,))."""
        return np.array(self.centers), np.array(self.rights), np.array(self.widths)

    def edges(self, lift_m: float = 0.0) -> tuple[F64, F64]:
        c, r, w = self.arrays()
        c = c + np.array([0.0, 0.0, lift_m])
        return c - r * w[:, None] / 2, c + r * w[:, None] / 2


def _append(lane: LaneSamples, wp: Any, draw_left: bool) -> None:
    t = wp.transform
    rot = t.rotation
    lane.centers.append((t.location.x, t.location.y, t.location.z))
    lane.rights.append(rotation_matrix(rot.pitch, rot.yaw, rot.roll)[:, 1])
    lane.widths.append(float(wp.lane_width))
    lane.s.append(float(wp.s))
    lane.junction.append(bool(wp.is_junction))
    lm, rm = wp.left_lane_marking, wp.right_lane_marking
    lane.left_marks.append((str(lm.type), str(lm.color)))
    lane.right_marks.append((str(rm.type), str(rm.color)))
    lane.draw_left.append(draw_left)


def _draws_left(wp: Any) -> bool:
    """Draw the left marking only where no same-direction driving lane owns it."""
    left = wp.get_left_lane()
    if left is None or str(left.lane_type) != "Driving":
        return True
    return bool(left.lane_id * wp.lane_id < 0 and wp.lane_id < 0)


def sample_lanes(carla_map: Any, step_m: float = 1.0) -> list[LaneSamples]:
    """Every driving lane of the topology plus the non-driving lanes beside them."""
    out: list[LaneSamples] = []
    for start, _end in carla_map.get_topology():
        wps = [start, *start.next_until_lane_end(step_m)]
        drive = LaneSamples("Driving", int(start.lane_id))
        sides: dict[int, LaneSamples] = {}
        for wp in wps:
            _append(drive, wp, _draws_left(wp))
            side = wp.get_right_lane()
            while side is not None and str(side.lane_type) != "Driving":
                key = int(side.lane_id)
                if key not in sides:
                    sides[key] = LaneSamples(str(side.lane_type), key)
                _append(sides[key], side, True)
                side = side.get_right_lane()
            middle = wp.get_left_lane()  # centre turn lanes, medians (one step only)
            if middle is not None and str(middle.lane_type) not in ("Driving", "Sidewalk"):
                key = 1000 + int(middle.lane_id)
                if key not in sides:
                    sides[key] = LaneSamples(str(middle.lane_type), int(middle.lane_id))
                _append(sides[key], middle, True)
        out.append(drive)
        out.extend(lane for lane in sides.values() if len(lane.centers) >= 2)
    return [lane for lane in out if len(lane.centers) >= 2]
