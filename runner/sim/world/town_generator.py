"""Procedural towns: a grid of city blocks with signalised junctions, as OpenDRIVE.

A fresh install needs worlds that ship no third-party data, so the project writes its
own road networks. Every grid node is a junction (corners too), so every driving lane
ends in a junction with a way out: the Traffic Manager can drive forever. Traffic
lights are placed the way CARLA's towns place them: one `<signal>` per incoming road,
beside its last metres, and a `<signalReference>` at the entry of each connecting lane.

Leg directions are multiples of 90 degrees counter-clockwise in the OpenDRIVE frame:
0 east, 1 north, 2 west, 3 south. Right-hand traffic: right lanes (negative ids) run
along s, lane 1 / -1 is next to the centre line.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from runner.sim.world.map_xodr import (
    Connection,
    Controller,
    Document,
    Geometry,
    Junction,
    Lane,
    Link,
    Road,
    Signal,
    SignalReference,
    num,
    to_xodr,
)

STRAIGHT, LEFT, RIGHT = "straight", "left", "right"
_TURN_STEPS = {STRAIGHT: 0, LEFT: 1, RIGHT: 3}  # quarter turns counter-clockwise
_SIGNAL_SETBACK_M = 0.5  # signal distance from the road end (CARLA's towns: 0.5-2 m)
_REFERENCE_S_M = 0.5  # reference distance into the connecting lane
# CARLA's towns give the <signal> itself lane 0 only, so that only its references (one
# per connecting lane) become landmarks; lane validity here would add a duplicate.
_SIGNAL_VALIDITY = (0, 0)

Node = tuple[int, int]


@dataclass(frozen=True)
class TownSpec:
    """Parameters of a grid town; distances in metres, speed in km/h, geo in degrees."""

    name: str = "GridTown"
    blocks_x: int = 3
    blocks_y: int = 3
    block_size_m: float = 100.0
    lanes_per_direction: int = 2
    lane_width_m: float = 3.5
    sidewalk_width_m: float = 2.0
    sidewalk_height_m: float = 0.15
    speed_limit_kmh: float = 30.0
    traffic_lights: bool = True
    latitude_deg: float = 49.0
    longitude_deg: float = 8.0

    def __post_init__(self) -> None:
        if self.blocks_x < 1 or self.blocks_y < 1:
            raise ValueError("a town needs at least one block each way")
        if not 1 <= self.lanes_per_direction <= 4:
            raise ValueError("lanes_per_direction must be 1..4")
        if self.block_size_m < 2 * self.junction_radius_m + 10.0:
            raise ValueError(f"block_size_m too small for {self.lanes_per_direction} lanes")

    @property
    def junction_radius_m(self) -> float:
        """Half size of a junction box: the carriageway, sidewalk and 3 m to turn in."""
        return self.lanes_per_direction * self.lane_width_m + self.sidewalk_width_m + 3.0

    @property
    def geo_reference(self) -> str:
        """PROJ string in the form CARLA's towns use (CARLA reads +lat_0 / +lon_0)."""
        lat, lon = num(self.latitude_deg), num(self.longitude_deg)
        return (
            f"+proj=tmerc +lat_0={lat} +lon_0={lon} +k=1 +x_0=0 +y_0=0 +datum=WGS84"
            " +units=m +geoidgrids=egm96_15.gtx +vunits=m +no_defs"
        )


BUILTIN_TOWNS: dict[str, TownSpec] = {
    "GridTown": TownSpec(),
    "CrossTown": TownSpec(name="CrossTown", blocks_x=2, blocks_y=2, block_size_m=60.0),
}
"""Built-in maps: GridTown (3x3 blocks of 100 m, 16 junctions) and CrossTown (2x2 blocks
of 60 m around one 4-way junction, 9 junctions) for fast tests."""


@dataclass(frozen=True)
class _Leg:
    """A street seen from one of its end nodes."""

    street: Road
    direction: int  # from the node towards the street
    at_end: bool  # the street's s=length end touches this node

    def incoming(self, k: int) -> int:
        """Id of the k-th lane (1 = innermost) that drives into the node."""
        return -k if self.at_end else k

    def outgoing(self, k: int) -> int:
        return k if self.at_end else -k

    def contact(self) -> str:
        return "end" if self.at_end else "start"


def generate_town(spec: TownSpec | None = None) -> str:
    """OpenDRIVE 1.4 text of a grid town (default: GridTown)."""
    return to_xodr(build_town(spec or TownSpec()))


def build_town(spec: TownSpec) -> Document:
    """The town as a document model (what `generate_town` serialises)."""
    ids = itertools.count()
    nodes = [(i, j) for i in range(spec.blocks_x + 1) for j in range(spec.blocks_y + 1)]
    street_ends = _street_ends(spec)
    street_ids = {ends: next(ids) for ends in street_ends}
    junction_ids = {node: next(ids) for node in nodes}
    streets = {ends: _street(spec, sid, ends, junction_ids) for ends, sid in street_ids.items()}
    legs = _legs(streets)
    roads: list[Road] = []
    junctions: list[Junction] = []
    controllers: list[Controller] = []
    signals: dict[int, list[Signal]] = {}
    for node in nodes:
        parts = _JunctionBuilder(spec, node, junction_ids[node], legs[node], ids).build()
        roads.extend(parts.roads)
        junctions.append(parts.junction)
        controllers.extend(parts.controllers)
        for street_id, signal in parts.signals:
            signals.setdefault(street_id, []).append(signal)
    finished = [_with_signals(s, signals.get(s.id, [])) for s in streets.values()]
    return Document(
        name=spec.name,
        geo_reference=spec.geo_reference,
        roads=tuple(finished + roads),
        junctions=tuple(junctions),
        controllers=tuple(controllers),
        bounds=_bounds(spec),
    )


def _node_xy(spec: TownSpec, node: Node) -> tuple[float, float]:
    """Junction centre; the grid is centred on the origin."""
    b = spec.block_size_m
    return (node[0] * b - spec.blocks_x * b / 2, node[1] * b - spec.blocks_y * b / 2)


def _bounds(spec: TownSpec) -> tuple[float, float, float, float]:
    r = spec.junction_radius_m
    west, south = _node_xy(spec, (0, 0))
    east, north = _node_xy(spec, (spec.blocks_x, spec.blocks_y))
    return (north + r, south - r, east + r, west - r)


def _street_ends(spec: TownSpec) -> list[tuple[Node, Node]]:
    """Node pairs of every street: west-to-east rows, then south-to-north columns."""
    rows = [((i, j), (i + 1, j)) for j in range(spec.blocks_y + 1) for i in range(spec.blocks_x)]
    cols = [((i, j), (i, j + 1)) for i in range(spec.blocks_x + 1) for j in range(spec.blocks_y)]
    return rows + cols


def _street(spec: TownSpec, sid: int, ends: tuple[Node, Node], jids: dict[Node, int]) -> Road:
    a, b = ends
    direction = 0 if b[0] > a[0] else 1
    hdg = direction * math.pi / 2
    r = spec.junction_radius_m
    ax, ay = _node_xy(spec, a)
    length = spec.block_size_m - 2 * r
    start = Geometry(0.0, ax + r * math.cos(hdg), ay + r * math.sin(hdg), hdg, length)
    return Road(
        id=sid,
        length=length,
        geometry=(start,),
        left=_street_lanes(spec, 1),
        right=_street_lanes(spec, -1),
        predecessor=Link("junction", jids[a]),
        successor=Link("junction", jids[b]),
        center_mark="solid solid",
        speed_kmh=spec.speed_limit_kmh,
    )


def _street_lanes(spec: TownSpec, side: int) -> tuple[Lane, ...]:
    """Driving lanes 1..n (broken lines between, solid edge line), then a sidewalk."""
    n = spec.lanes_per_direction
    lanes = [
        Lane(
            id=side * k,
            width=spec.lane_width_m,
            mark_type="solid" if k == n else "broken",
            lane_change="none" if k == n else "both",
            speed_kmh=spec.speed_limit_kmh,
        )
        for k in range(1, n + 1)
    ]
    sidewalk = Lane(
        id=side * (n + 1),
        type="sidewalk",
        width=spec.sidewalk_width_m,
        height_m=spec.sidewalk_height_m,
    )
    return (*lanes, sidewalk)


def _legs(streets: dict[tuple[Node, Node], Road]) -> dict[Node, dict[int, _Leg]]:
    legs: dict[Node, dict[int, _Leg]] = {}
    for (a, b), street in streets.items():
        direction = 0 if b[0] > a[0] else 1
        legs.setdefault(a, {})[direction] = _Leg(street, direction, at_end=False)
        legs.setdefault(b, {})[direction + 2] = _Leg(street, direction + 2, at_end=True)
    return legs


def _with_signals(street: Road, signals: list[Signal]) -> Road:
    if not signals:
        return street
    return replace(street, signals=tuple(signals))


def lane_moves(turns: set[str], lanes: int) -> dict[int, list[str]]:
    """Which turns each incoming lane k (1 = innermost) may take; every lane gets one.

    Straight from every lane, right from the outermost, left from the innermost; where
    there is no straight (a T's stem, a corner) the lanes split between the turns.
    """
    moves: dict[int, list[str]] = {}
    for k in range(1, lanes + 1):
        forced = STRAIGHT not in turns
        right = k == lanes or (forced and (LEFT not in turns or k > lanes // 2))
        left = k == 1 or (forced and (RIGHT not in turns or k <= lanes // 2))
        chosen = [STRAIGHT] if STRAIGHT in turns else []
        chosen += [t for t, ok in ((LEFT, left), (RIGHT, right)) if ok and t in turns]
        moves[k] = chosen
    return moves


@dataclass
class _JunctionParts:
    junction: Junction
    roads: list[Road]
    signals: list[tuple[int, Signal]]
    controllers: list[Controller]


class _JunctionBuilder:
    """Connecting roads, lights and controllers of one grid node."""

    def __init__(
        self, spec: TownSpec, node: Node, jid: int, legs: dict[int, _Leg], ids: Iterator[int]
    ) -> None:
        self.spec, self.jid, self.legs, self.ids = spec, jid, legs, ids
        self.center = _node_xy(spec, node)
        self.signalised = spec.traffic_lights and len(legs) >= 3

    def build(self) -> _JunctionParts:
        roads: list[Road] = []
        signals: list[tuple[int, Signal]] = []
        controllers: list[Controller] = []
        connections: list[Connection] = []
        for direction in sorted(self.legs):
            leg = self.legs[direction]
            signal = self._signal(leg) if self.signalised else None
            if signal is not None:
                controllers.append(Controller(next(self.ids), (signal.id,), len(controllers)))
                signals.append((leg.street.id, signal))
            for road in self._connectors(leg, signal):
                lane_links = ((leg.incoming(_lane_index(road)), -1),)
                connections.append(Connection(len(connections), leg.street.id, road.id, lane_links))
                roads.append(road)
        ctrls = tuple((c.id, c.sequence) for c in controllers)
        return _JunctionParts(
            Junction(self.jid, tuple(connections), ctrls), roads, signals, controllers
        )

    def _signal(self, leg: _Leg) -> Signal:
        """A light on the sidewalk beside the incoming lanes, just before the junction.

        Orientation and heading offset follow CARLA's towns ("-" for traffic along s,
        "+" with a half turn against it), so the landmark's yaw is the travel direction
        of the lanes it governs, as `get_all_landmarks_of_type` reports for Town01.
        """
        side_t = self.spec.lanes_per_direction * self.spec.lane_width_m
        side_t += self.spec.sidewalk_width_m / 2
        if leg.at_end:
            s, t, orientation, h_offset = leg.street.length - _SIGNAL_SETBACK_M, -side_t, "-", 0.0
        else:
            s, t, orientation, h_offset = _SIGNAL_SETBACK_M, side_t, "+", math.pi
        return Signal(next(self.ids), s, t, orientation, h_offset, _SIGNAL_VALIDITY)

    def _connectors(self, leg: _Leg, signal: Signal | None) -> list[Road]:
        heading = (leg.direction + 2) % 4
        turns = {
            turn: self.legs[(heading + step) % 4]
            for turn, step in _TURN_STEPS.items()
            if (heading + step) % 4 in self.legs
        }
        roads = []
        for k, chosen in lane_moves(set(turns), self.spec.lanes_per_direction).items():
            for turn in chosen:
                roads.append(self._connector(leg, turns[turn], turn, k, signal))
        return roads

    def _connector(self, leg: _Leg, out: _Leg, turn: str, k: int, signal: Signal | None) -> Road:
        geometry = self._connector_geometry(leg.direction, turn, k)
        spec = self.spec
        lane = Lane(
            id=-1,
            width=spec.lane_width_m,
            predecessor=leg.incoming(k),
            successor=out.outgoing(k),
            speed_kmh=spec.speed_limit_kmh,
        )
        refs: tuple[SignalReference, ...] = ()
        if signal is not None:
            refs = (SignalReference(signal.id, _REFERENCE_S_M, "-", (-1, -1)),)
        return Road(
            id=next(self.ids),
            length=geometry.length,
            geometry=(geometry,),
            right=(lane,),
            junction=self.jid,
            predecessor=Link("road", leg.street.id, leg.contact()),
            successor=Link("road", out.street.id, out.contact()),
            speed_kmh=spec.speed_limit_kmh,
            references=refs,
            center_mark="none",
        )

    def _connector_geometry(self, leg_direction: int, turn: str, k: int) -> Geometry:
        """Reference line along the left border of lane k, from box edge to box edge.

        Lane k's left border is (k-1) lane widths right of the centre line on both
        roads, so a turn is one quarter circle of radius R -/+ that offset.
        """
        r_box = self.spec.junction_radius_m
        offset = (k - 1) * self.spec.lane_width_m
        hdg = ((leg_direction + 2) % 4) * math.pi / 2
        out_angle = leg_direction * math.pi / 2
        x = self.center[0] + r_box * math.cos(out_angle) + offset * math.sin(hdg)
        y = self.center[1] + r_box * math.sin(out_angle) - offset * math.cos(hdg)
        if turn == STRAIGHT:
            return Geometry(0.0, x, y, hdg, 2 * r_box)
        radius = r_box - offset if turn == RIGHT else r_box + offset
        curvature = -1 / radius if turn == RIGHT else 1 / radius
        return Geometry(0.0, x, y, hdg, radius * math.pi / 2, curvature)


def _lane_index(connector: Road) -> int:
    """k of the incoming lane a connector starts from."""
    pred = connector.right[0].predecessor
    assert pred is not None
    return abs(pred)
