"""Actors of one frame → per-instance rows for instanced drawing (no OpenGL here).

A row is 22 float32: the model matrix (16, column-major), albedo (3), then semantic
tag, CARLA actor id (the instance id) and traffic-light state (-1 when not a light).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from runner.sim.render import labels
from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.geometry import BoundingBox

INSTANCE_FLOATS = 22
SHAPE_NAMES = ("car", "walker", "prop", "fountain", "traffic_light")

_BASE_TYPE_TAGS = {
    "car": labels.CAR,
    "van": labels.CAR,
    "truck": labels.TRUCK,
    "bus": labels.BUS,
    "motorcycle": labels.MOTORCYCLE,
    "bicycle": labels.BICYCLE,
}
_DEFAULT_BOXES = {
    "car": BoundingBox((0.0, 0.0, 0.75), (2.3, 1.0, 0.75)),
    "walker": BoundingBox((0.0, 0.0, 0.0), (0.19, 0.19, 0.93)),
    "prop": BoundingBox((0.0, 0.0, 0.4), (0.4, 0.4, 0.4)),
    "fountain": BoundingBox((0.0, 0.0, 2.5), (4.0, 4.0, 2.5)),
}


def shape_of(actor: Actor) -> str | None:
    if actor.kind is ActorKind.VEHICLE:
        return "car"
    if actor.kind is ActorKind.WALKER:
        return "walker"
    if actor.kind is ActorKind.TRAFFIC_LIGHT:
        return "traffic_light"
    if actor.kind is ActorKind.PROP:
        return "fountain" if "fountain" in actor.type_id else "prop"
    return None  # sensors, spectator, controllers; traffic signs come from the map


def tag_of(actor: Actor, shape: str) -> int:
    """The catalogue's tag when the simulator filled it, else one from the blueprint."""
    if actor.semantic_tags:
        return actor.semantic_tags[0]
    if shape == "car":
        return _BASE_TYPE_TAGS.get(actor.attribute("base_type", "car"), labels.CAR)
    fixed = {"walker": labels.PEDESTRIANS, "traffic_light": labels.TRAFFIC_LIGHT}
    return fixed.get(shape, labels.STATIC)


def albedo_of(actor: Actor) -> tuple[float, float, float]:
    """The `color` attribute ("r,g,b", sRGB bytes) in linear light, else one from the id."""
    text = actor.attribute("color")
    try:
        r, g, b = (int(v) for v in text.split(","))
    except ValueError:
        rng = np.random.default_rng(actor.id)
        r, g, b = (int(v) for v in rng.integers(30, 220, 3))
    return ((r / 255.0) ** 2.2, (g / 255.0) ** 2.2, (b / 255.0) ** 2.2)


def model_matrix(actor: Actor, shape: str) -> NDArray[np.float64]:
    """Actor pose · box centre · box extent (traffic lights keep metres)."""
    m = actor.transform.matrix()
    if shape == "traffic_light":
        return m
    box = actor.bounding_box
    if not any(box.extent):
        box = _DEFAULT_BOXES[shape]
    local = np.diag([*box.extent, 1.0])
    local[:3, 3] = box.center
    return np.asarray(m @ local)


def instance_rows(actors: Sequence[Actor], exclude_id: int = 0) -> dict[str, NDArray[np.float32]]:
    """Rows per shape name for every drawable actor (empty shapes are omitted)."""
    rows: dict[str, list[NDArray[np.float64]]] = {}
    for actor in actors:
        shape = shape_of(actor)
        if shape is None or actor.id == exclude_id:
            continue
        state = -1.0
        if actor.traffic_light is not None:
            state = float(actor.traffic_light.state) if actor.traffic_light.state <= 2 else -1.0
        row = np.empty(INSTANCE_FLOATS)
        row[:16] = model_matrix(actor, shape).T.reshape(-1)
        row[16:19] = albedo_of(actor) if shape != "traffic_light" else (0.05, 0.05, 0.05)
        row[19:22] = (tag_of(actor, shape), actor.id & 0xFFFF, state)
        rows.setdefault(shape, []).append(row)
    return {k: np.asarray(v, dtype=np.float32) for k, v in rows.items()}
