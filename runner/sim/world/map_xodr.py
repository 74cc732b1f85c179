"""A small OpenDRIVE 1.4 document model and its XML writer.

Map generators build these frozen records; only this module knows element names and
attribute spellings, so a generator never formats XML by hand. The output follows
the layout of CARLA's own town files (RoadRunner exports), which `carla.Map` parses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

TRAFFIC_LIGHT_TYPE = "1000001"
"""OpenDRIVE signal type CARLA reads as a traffic light."""


@dataclass(frozen=True)
class Geometry:
    """One planView record: a line (curvature 0) or an arc, OpenDRIVE frame [m, rad]."""

    s: float
    x: float
    y: float
    hdg: float
    length: float
    curvature: float = 0.0


@dataclass(frozen=True)
class Link:
    """A road's predecessor or successor; contact_point is None for junctions."""

    element_type: str
    element_id: int
    contact_point: str | None = None


@dataclass(frozen=True)
class Lane:
    """One lane of a single-section road; the road mark is the lane's outer border."""

    id: int
    type: str = "driving"
    width: float = 3.5
    mark_type: str = "none"
    mark_color: str = "white"
    lane_change: str = "none"
    predecessor: int | None = None
    successor: int | None = None
    speed_kmh: float | None = None
    height_m: float | None = None


@dataclass(frozen=True)
class Signal:
    """A physical signal placed at (s, t) of its road, as CARLA's towns write them."""

    id: int
    s: float
    t: float
    orientation: str
    h_offset: float
    validity: tuple[int, int]
    type: str = TRAFFIC_LIGHT_TYPE
    name: str = "Signal_3Light_Post01"
    height: float = 1.16
    width: float = 0.52


@dataclass(frozen=True)
class SignalReference:
    """Makes a signal govern lanes of another road (CARLA: junction connecting roads)."""

    id: int
    s: float
    orientation: str
    validity: tuple[int, int]
    t: float = 0.0


@dataclass(frozen=True)
class Road:
    """A single-lane-section road with a constant cross-section."""

    id: int
    length: float
    geometry: tuple[Geometry, ...]
    left: tuple[Lane, ...] = ()
    right: tuple[Lane, ...] = ()
    junction: int = -1
    predecessor: Link | None = None
    successor: Link | None = None
    center_mark: str = "none"
    center_mark_color: str = "yellow"
    speed_kmh: float | None = None
    signals: tuple[Signal, ...] = ()
    references: tuple[SignalReference, ...] = ()


@dataclass(frozen=True)
class Connection:
    """A junction connection; lane_links are (incoming lane, connecting lane) pairs."""

    id: int
    incoming_road: int
    connecting_road: int
    lane_links: tuple[tuple[int, int], ...]
    contact_point: str = "start"


@dataclass(frozen=True)
class Junction:
    """A junction with its connections and (controller id, sequence) pairs."""

    id: int
    connections: tuple[Connection, ...]
    controllers: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Controller:
    """Groups signals switched together; CARLA groups a junction's lights by these."""

    id: int
    signal_ids: tuple[int, ...]
    sequence: int = 0


@dataclass(frozen=True)
class Document:
    """A whole OpenDRIVE file."""

    name: str
    geo_reference: str
    roads: tuple[Road, ...]
    junctions: tuple[Junction, ...] = ()
    controllers: tuple[Controller, ...] = ()
    vendor: str = "carla-scenario-runner"
    bounds: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0))
    """(north, south, east, west) in the OpenDRIVE frame [m]."""


def to_xodr(doc: Document) -> str:
    """Serialise `doc` as OpenDRIVE 1.4 XML text (deterministic: same doc, same bytes)."""
    root = ET.Element("OpenDRIVE")
    root.append(_header(doc))
    for road in doc.roads:
        root.append(_road(road))
    for ctrl in doc.controllers:
        root.append(_controller(ctrl))
    for junction in doc.junctions:
        root.append(_junction(junction))
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def num(value: float) -> str:
    """Fixed, locale-free number text; never "-0"."""
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def _header(doc: Document) -> ET.Element:
    north, south, east, west = doc.bounds
    header = ET.Element(
        "header",
        {
            "revMajor": "1",
            "revMinor": "4",
            "name": doc.name,
            "version": "1",
            "north": num(north),
            "south": num(south),
            "east": num(east),
            "west": num(west),
            "vendor": doc.vendor,
        },
    )
    _sub(header, "geoReference").text = doc.geo_reference
    return header


def _link(parent: ET.Element, tag: str, link: Link | None) -> None:
    if link is None:
        return
    attrs = {"elementType": link.element_type, "elementId": str(link.element_id)}
    if link.contact_point is not None:
        attrs["contactPoint"] = link.contact_point
    _sub(parent, tag, **attrs)


def _road(road: Road) -> ET.Element:
    el = ET.Element(
        "road",
        {"name": f"Road {road.id}", "length": num(road.length), "id": str(road.id)},
    )
    el.set("junction", str(road.junction))
    link = _sub(el, "link")
    _link(link, "predecessor", road.predecessor)
    _link(link, "successor", road.successor)
    if road.speed_kmh is not None:
        road_type = _sub(el, "type", s="0", type="town")
        _sub(road_type, "speed", max=num(road.speed_kmh), unit="km/h")
    plan = _sub(el, "planView")
    for g in road.geometry:
        geo = _sub(plan, "geometry", s=num(g.s), x=num(g.x), y=num(g.y))
        geo.set("hdg", num(g.hdg))
        geo.set("length", num(g.length))
        if g.curvature == 0.0:
            _sub(geo, "line")
        else:
            _sub(geo, "arc", curvature=num(g.curvature))
    zeros = {"a": "0", "b": "0", "c": "0", "d": "0"}
    _sub(_sub(el, "elevationProfile"), "elevation", s="0", **zeros)
    _sub(_sub(el, "lateralProfile"), "superelevation", s="0", **zeros)
    el.append(_lanes(road))
    if road.signals or road.references:
        signals = _sub(el, "signals")
        for sig in road.signals:
            signals.append(_signal(sig))
        for ref in road.references:
            signals.append(_reference(ref))
    return el


def _lanes(road: Road) -> ET.Element:
    lanes = ET.Element("lanes")
    _sub(lanes, "laneOffset", s="0", a="0", b="0", c="0", d="0")
    section = _sub(lanes, "laneSection", s="0")
    if road.left:
        left = _sub(section, "left")
        for lane in sorted(road.left, key=lambda ln: -ln.id):
            left.append(_lane(lane))
    center = _sub(_sub(section, "center"), "lane", id="0", type="none", level="false")
    _road_mark(center, road.center_mark, road.center_mark_color, "none")
    if road.right:
        right = _sub(section, "right")
        for lane in sorted(road.right, key=lambda ln: -ln.id):
            right.append(_lane(lane))
    return lanes


def _lane(lane: Lane) -> ET.Element:
    el = ET.Element("lane", {"id": str(lane.id), "type": lane.type, "level": "false"})
    if lane.predecessor is not None or lane.successor is not None:
        link = _sub(el, "link")
        if lane.predecessor is not None:
            _sub(link, "predecessor", id=str(lane.predecessor))
        if lane.successor is not None:
            _sub(link, "successor", id=str(lane.successor))
    _sub(el, "width", sOffset="0", a=num(lane.width), b="0", c="0", d="0")
    _road_mark(el, lane.mark_type, lane.mark_color, lane.lane_change)
    if lane.speed_kmh is not None:
        _sub(el, "speed", sOffset="0", max=num(lane.speed_kmh), unit="km/h")
    if lane.height_m is not None:
        h = num(lane.height_m)
        _sub(el, "height", sOffset="0", inner=h, outer=h)
    return el


def _road_mark(parent: ET.Element, mark_type: str, color: str, lane_change: str) -> None:
    attrs = {"sOffset": "0", "type": mark_type, "weight": "standard", "color": color}
    attrs["material"] = "standard"
    if mark_type != "none":
        attrs["width"] = "0.125"
    attrs["laneChange"] = lane_change
    _sub(parent, "roadMark", **attrs)


def _signal(sig: Signal) -> ET.Element:
    el = ET.Element("signal")
    attrs = {
        "name": sig.name,
        "id": str(sig.id),
        "s": num(sig.s),
        "t": num(sig.t),
        "zOffset": "0",
        "hOffset": num(sig.h_offset),
        "roll": "0",
        "pitch": "0",
        "orientation": sig.orientation,
        "dynamic": "yes",
        "country": "OpenDRIVE",
        "type": sig.type,
        "subtype": "-1",
        "value": "-1",
        "text": "",
        "height": num(sig.height),
        "width": num(sig.width),
    }
    for key, value in attrs.items():
        el.set(key, value)
    _validity(el, sig.validity)
    return el


def _reference(ref: SignalReference) -> ET.Element:
    el = ET.Element("signalReference", {"id": str(ref.id), "s": num(ref.s), "t": num(ref.t)})
    el.set("orientation", ref.orientation)
    _validity(el, ref.validity)
    return el


def _validity(parent: ET.Element, lanes: tuple[int, int]) -> None:
    _sub(parent, "validity", fromLane=str(lanes[0]), toLane=str(lanes[1]))


def _controller(ctrl: Controller) -> ET.Element:
    el = ET.Element("controller", {"name": f"ctrl{ctrl.id}", "id": str(ctrl.id)})
    el.set("sequence", str(ctrl.sequence))
    for signal_id in ctrl.signal_ids:
        _sub(el, "control", signalId=str(signal_id), type="")
    return el


def _junction(junction: Junction) -> ET.Element:
    el = ET.Element("junction", {"id": str(junction.id), "name": f"junction{junction.id}"})
    for conn in junction.connections:
        c = _sub(el, "connection", id=str(conn.id), incomingRoad=str(conn.incoming_road))
        c.set("connectingRoad", str(conn.connecting_road))
        c.set("contactPoint", conn.contact_point)
        for src, dst in conn.lane_links:
            _sub(c, "laneLink", **{"from": str(src), "to": str(dst)})
    for ctrl_id, sequence in junction.controllers:
        _sub(el, "controller", id=str(ctrl_id), type="0", sequence=str(sequence))
    return el
