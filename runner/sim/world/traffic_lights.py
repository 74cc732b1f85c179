"""Traffic lights of a map and CARLA's group cycle.

CARLA builds one `traffic.traffic_light` actor per OpenDRIVE signal of type 1000001, groups
the lights of a junction, and lets each group hand green to one light (controller) at a
time: green, yellow, then red as all-red clearance, then the next light of the group
(`ATrafficLightGroup` / `UTrafficLightController`). This module derives the same structure
from `carla.Map` landmarks and steps it; it only mutates `TrafficLight` records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from runner.sim.world.actors import TrafficLight, TrafficLightState
from runner.sim.world.geometry import Transform

TRAFFIC_LIGHT_TYPE = "1000001"
JUNCTION_SEARCH_M = 60.0  # how far to walk from a signal reference to find its junction
_WALK_STEP_M = 2.0
_TIMER_EPSILON_S = 1e-6  # float round-off must not cost a whole tick per phase


@dataclass(frozen=True, slots=True)
class StopPoint:
    """Where a lane controlled by a light meets the junction (the stop line), OpenDRIVE coords."""

    road_id: int
    lane_id: int
    s: float


@dataclass(frozen=True, slots=True)
class LightSpec:
    """One physical traffic light: what the episode needs to spawn and wire its actor."""

    opendrive_id: str
    transform: Transform
    junction_id: int  # OpenDRIVE junction id, -1 when no junction was found
    group_id: int
    pole_index: int
    stops: tuple[StopPoint, ...]


def traffic_light_groups(carla_map: Any) -> list[LightSpec]:
    """One spec per signal id (CARLA lists one landmark per signal *reference*)."""
    by_id: dict[str, list[Any]] = {}
    for landmark in carla_map.get_all_landmarks_of_type(TRAFFIC_LIGHT_TYPE):
        by_id.setdefault(str(landmark.id), []).append(landmark)
    sequence = _controller_sequence(carla_map.to_opendrive())
    found: list[tuple[str, Transform, int, tuple[StopPoint, ...]]] = []
    for signal_id, refs in by_id.items():
        junction_id, stops = _junction_and_stops(carla_map, refs)
        found.append((signal_id, _transform_of(refs[0]), junction_id, stops))
    return _assign_groups(found, sequence)


def _assign_groups(
    found: list[tuple[str, Transform, int, tuple[StopPoint, ...]]],
    sequence: dict[str, int],
) -> list[LightSpec]:
    """Group per junction (lone lights get their own group); order poles like the xodr does."""

    def group_key(item: tuple[str, Transform, int, tuple[StopPoint, ...]]) -> str:
        return f"j{item[2]}" if item[2] >= 0 else f"s{item[0]}"

    def pole_key(item: tuple[str, Transform, int, tuple[StopPoint, ...]]) -> tuple[int, str]:
        return (sequence.get(item[0], 1 << 30), item[0].zfill(12))

    groups: dict[str, list[tuple[str, Transform, int, tuple[StopPoint, ...]]]] = {}
    for item in sorted(found, key=lambda it: (group_key(it), pole_key(it))):
        groups.setdefault(group_key(item), []).append(item)
    specs: list[LightSpec] = []
    for group_id, key in enumerate(sorted(groups, key=_natural_key)):
        for pole_index, (sid, transform, junction_id, stops) in enumerate(groups[key]):
            specs.append(LightSpec(sid, transform, junction_id, group_id, pole_index, stops))
    return specs


def _natural_key(key: str) -> tuple[str, int]:
    return (key[0], int(key[1:]) if key[1:].lstrip("-").isdigit() else 0)


def _transform_of(landmark: Any) -> Transform:
    t = landmark.transform
    loc, rot = t.location, t.rotation
    return Transform(loc.x, loc.y, loc.z, rot.pitch, rot.yaw, rot.roll)


def _junction_and_stops(carla_map: Any, refs: Sequence[Any]) -> tuple[int, tuple[StopPoint, ...]]:
    """Walk each validated lane forward to the junction; its entry is the lane's stop line."""
    junction_id = -1
    stops: dict[tuple[int, int], StopPoint] = {}
    for ref in refs:
        for lane_id in _validated_lanes(ref):
            wp = carla_map.get_waypoint_xodr(ref.road_id, lane_id, ref.s)
            if wp is None:
                continue
            hit = _stop_before_junction(wp)
            if hit is None:
                continue
            jid, stop = hit
            junction_id = jid if junction_id < 0 else junction_id
            stops.setdefault((stop.road_id, stop.lane_id), stop)
    return junction_id, tuple(stops[k] for k in sorted(stops))


def _validated_lanes(landmark: Any) -> Iterable[int]:
    for from_lane, to_lane in landmark.get_lane_validities():
        lo, hi = min(from_lane, to_lane), max(from_lane, to_lane)
        yield from (lane for lane in range(lo, hi + 1) if lane != 0)


def _stop_before_junction(wp: Any) -> tuple[int, StopPoint] | None:
    """(junction id, last non-junction point of the incoming lane) for a signal waypoint."""
    if wp.is_junction:
        incoming = _walk_out_of_junction(wp)
        if incoming is None:
            return None
        return wp.get_junction().id, _lane_end(incoming)
    end = _lane_end(wp)
    ahead = _next(end, _WALK_STEP_M)
    if ahead is None or not ahead.is_junction:
        return None
    return ahead.get_junction().id, end


def _walk_out_of_junction(wp: Any) -> Any | None:
    """First waypoint behind `wp` that is outside the junction (the lane feeding it)."""
    current = wp
    for _ in range(int(JUNCTION_SEARCH_M / 0.5)):
        behind = current.previous(0.5)
        if not behind:
            return None
        outside = [p for p in behind if not p.is_junction]
        if outside:
            return outside[0]
        current = behind[0]
    return None


def _lane_end(wp: Any) -> StopPoint:
    """Stop point just before the junction that `wp`'s lane runs into (coarse, then fine)."""
    current = wp
    for step_m in (_WALK_STEP_M, 0.1):
        for _ in range(int(JUNCTION_SEARCH_M / step_m)):
            ahead = _next(current, step_m)
            if ahead is None or ahead.is_junction:
                break
            current = ahead
    inward_m = -0.02 if current.lane_id < 0 else 0.02  # stay inside the road's s range
    return StopPoint(current.road_id, current.lane_id, current.s + inward_m)


def _next(wp: Any, step_m: float) -> Any | None:
    ahead = wp.next(step_m)
    return ahead[0] if ahead else None


_CONTROLLER_RE = re.compile(r"<controller\b[^>]*\bid=\"([^\"]+)\"[^>]*>(.*?)</controller>", re.S)
_SIGNAL_RE = re.compile(r"<control\b[^>]*\bsignalId=\"([^\"]+)\"")
_JUNCTION_CTRL_RE = re.compile(
    r"<controller\b[^>]*\bid=\"([^\"]+)\"[^>]*\bsequence=\"(-?\d+)\"[^>]*/>", re.S
)


def _controller_sequence(xodr: str) -> dict[str, int]:
    """signal id -> junction controller sequence, when the OpenDRIVE file declares one."""
    signals_of = {cid: _SIGNAL_RE.findall(body) for cid, body in _CONTROLLER_RE.findall(xodr)}
    result: dict[str, int] = {}
    for cid, seq in _JUNCTION_CTRL_RE.findall(xodr):
        for signal_id in signals_of.get(cid, []):
            result.setdefault(signal_id, int(seq))
    return result


class TrafficLightController:
    """Steps every group's cycle and keeps the `TrafficLight` records in sync.

    Mirrors `ATrafficLightGroup::Tick`: a countdown per group; when it expires the current
    light advances green -> yellow -> red, and after its red (all-red clearance) the next
    pole turns green. Left-over time is dropped, as CARLA does.
    """

    def __init__(self, lights: Sequence[TrafficLight]) -> None:
        self._groups: dict[int, list[TrafficLight]] = {}
        for light in sorted(lights, key=lambda tl: (tl.group_id, tl.pole_index)):
            self._groups.setdefault(light.group_id, []).append(light)
        self._current: dict[int, int] = {}
        self._phase: dict[int, TrafficLightState] = {}
        self._timer_s: dict[int, float] = {}
        self.reset_all()

    def lights_in_group(self, group_id: int) -> list[TrafficLight]:
        return list(self._groups.get(group_id, []))

    def step(self, dt_s: float) -> None:
        for group_id, lights in self._groups.items():
            if lights[0].frozen:
                continue
            for light in lights:
                light.elapsed_time += dt_s
            self._timer_s[group_id] -= dt_s
            if self._timer_s[group_id] <= _TIMER_EPSILON_S:
                self._advance(group_id)

    def _advance(self, group_id: int) -> None:
        lights = self._groups[group_id]
        index = self._current[group_id]
        light = lights[index]
        phase = self._phase[group_id]
        if phase == TrafficLightState.GREEN:
            self._enter(group_id, light, TrafficLightState.YELLOW, light.yellow_time)
        elif phase == TrafficLightState.YELLOW:
            self._enter(group_id, light, TrafficLightState.RED, light.red_time)
        else:
            index = (index + 1) % len(lights)
            self._current[group_id] = index
            self._enter(group_id, lights[index], TrafficLightState.GREEN, lights[index].green_time)

    def _enter(
        self, group_id: int, light: TrafficLight, state: TrafficLightState, time_s: float
    ) -> None:
        self._set(light, state)
        self._phase[group_id] = state
        self._timer_s[group_id] = time_s

    @staticmethod
    def _set(light: TrafficLight, state: TrafficLightState) -> None:
        light.state = state
        light.elapsed_time = 0.0

    def reset_group(self, group_id: int) -> None:
        """All red, then the group's first pole green with a fresh timer (CARLA's ResetGroup)."""
        lights = self._groups.get(group_id)
        if not lights:
            return
        for light in lights:
            self._set(light, TrafficLightState.RED)
        self._current[group_id] = 0
        self._enter(group_id, lights[0], TrafficLightState.GREEN, lights[0].green_time)

    def reset_all(self) -> None:
        for group_id in self._groups:
            self.reset_group(group_id)

    def freeze_group(self, group_id: int, frozen: bool) -> None:
        """`traffic_light.freeze()` freezes the light's whole group in CARLA."""
        for light in self._groups.get(group_id, []):
            light.frozen = frozen

    def freeze_all(self, frozen: bool) -> None:
        """`world.freeze_all_traffic_lights()`."""
        for group_id in self._groups:
            self.freeze_group(group_id, frozen)

    def set_state(self, light: TrafficLight, state: TrafficLightState) -> None:
        """Only this light changes; the group's countdown goes on (freeze first to hold it)."""
        self._set(light, state)

    @staticmethod
    def set_state_time(light: TrafficLight, state: TrafficLightState, time_s: float) -> None:
        """`set_green_time` & co.: takes effect the next time that state starts."""
        if state == TrafficLightState.GREEN:
            light.green_time = time_s
        elif state == TrafficLightState.YELLOW:
            light.yellow_time = time_s
        elif state == TrafficLightState.RED:
            light.red_time = time_s
