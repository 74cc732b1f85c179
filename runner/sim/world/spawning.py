"""Turn a spawn request (blueprint id + attribute values) into an Actor record."""

from __future__ import annotations

from runner import catalog
from runner.sim.world.actors import (
    Actor,
    ActorKind,
    TrafficLight,
    VehicleState,
    kind_of,
)
from runner.sim.world.errors import WorldError
from runner.sim.world.geometry import BoundingBox, Transform

NO_BOX = BoundingBox()


def describe(
    actor_id: int,
    type_id: str,
    values: dict[str, str],
    transform: Transform,
) -> Actor:
    """Build the record for a library blueprint, filling attributes the client left out."""
    spec = catalog.find_blueprint(type_id)
    if spec is None:
        raise WorldError(f"Actor blueprint '{type_id}' not found in the blueprint library")
    attributes = {a.id: (a.type, values.get(a.id, a.default)) for a in spec.attributes}
    kind = kind_of(type_id)
    actor = Actor(
        id=actor_id,
        type_id=type_id,
        kind=kind,
        attributes=attributes,
        transform=transform,
        bounding_box=BoundingBox(spec.bbox_center, spec.bbox_extent),
        semantic_tags=bytes([spec.semantic_tag]) if spec.semantic_tag else b"",
    )
    if kind is ActorKind.VEHICLE:
        actor.vehicle = VehicleState()
    return actor


def world_actor(
    actor_id: int,
    type_id: str,
    transform: Transform,
    *,
    box: BoundingBox = NO_BOX,
    semantic_tag: int = 0,
    traffic_light: TrafficLight | None = None,
    sign_id: str = "",
) -> Actor:
    """Actors the world creates itself (spectator, traffic lights, signs)."""
    attributes = {"role_name": (catalog.ATTR_STRING, "")}
    return Actor(
        id=actor_id,
        type_id=type_id,
        kind=kind_of(type_id),
        attributes=attributes,
        transform=transform,
        bounding_box=box,
        semantic_tags=bytes([semantic_tag]) if semantic_tag else b"",
        traffic_light=traffic_light,
        sign_id=sign_id,
        simulate_physics=False,
    )
