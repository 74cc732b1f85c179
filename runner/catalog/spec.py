"""Plain records that describe CARLA blueprints, plus builders for common attributes.

The records mirror what CARLA's server puts in an ``ActorDefinition`` (see
carla-protocol.md section 3.2) so the embedded simulator can serve them and the
offline validator can check scenarios against them without a server.
"""

from __future__ import annotations

from dataclasses import dataclass

# carla.ActorAttributeType wire values.
ATTR_BOOL = 1
ATTR_INT = 2
ATTR_FLOAT = 3
ATTR_STRING = 4
ATTR_RGBCOLOR = 5

SENSOR_ROLE_NAMES = (
    "front",
    "back",
    "left",
    "right",
    "front_left",
    "front_right",
    "back_left",
    "back_right",
)


@dataclass(frozen=True)
class AttributeSpec:
    """One blueprint attribute.

    Modifiable attributes are CARLA "variations": the value is the first
    recommended value.  Non-modifiable ones are CARLA "attributes": their single
    value is stored as ``recommended[0]`` here, but CARLA sends an *empty*
    recommended list for them on the wire, so encoders must send ``[]`` when
    ``modifiable`` is False.
    """

    id: str
    type: int
    recommended: tuple[str, ...]
    modifiable: bool = True
    restrict_to_recommended: bool = False

    @property
    def default(self) -> str:
        """The value a fresh blueprint reports (CARLA: first recommended value)."""
        return self.recommended[0] if self.recommended else ""


@dataclass(frozen=True)
class BlueprintSpec:
    """One blueprint: id, tags, attributes, and the box and tag of its actors."""

    id: str
    tags: tuple[str, ...]
    attributes: tuple[AttributeSpec, ...]
    bbox_center: tuple[float, float, float]
    bbox_extent: tuple[float, float, float]
    semantic_tag: int

    def attribute(self, name: str) -> AttributeSpec | None:
        """The attribute called ``name``, or None."""
        for attr in self.attributes:
            if attr.id == name:
                return attr
        return None


def tags_of(blueprint_id: str) -> tuple[str, ...]:
    """CARLA's tags: the lower-cased id parts, as FillIdAndTags joins them."""
    return tuple(blueprint_id.lower().split("."))


def variation(name: str, kind: int, *values: str, restrict: bool = False) -> AttributeSpec:
    """A modifiable attribute whose default is the first value."""
    return AttributeSpec(name, kind, tuple(values), True, restrict)


def fixed(name: str, kind: int, value: str) -> AttributeSpec:
    """A non-modifiable attribute with a single value."""
    return AttributeSpec(name, kind, (value,), False, False)


def identity_attributes(blueprint_id: str, *role_names: str) -> tuple[AttributeSpec, ...]:
    """``role_name`` and ``ros_name``, which CARLA puts first on every blueprint.

    ``role_name`` defaults to "default" unless a kind-specific list is given;
    ``ros_name`` recommends the blueprint id (0.9.15/0.9.16 behaviour).
    """
    roles = role_names or ("default",)
    return (
        variation("role_name", ATTR_STRING, *roles),
        variation("ros_name", ATTR_STRING, blueprint_id),
    )


def make_blueprint(
    blueprint_id: str,
    attributes: tuple[AttributeSpec, ...],
    extent: tuple[float, float, float] = (0.0, 0.0, 0.0),
    center: tuple[float, float, float] = (0.0, 0.0, 0.0),
    semantic_tag: int = 0,
) -> BlueprintSpec:
    """A blueprint whose tags are derived from its id as CARLA does."""
    return BlueprintSpec(
        blueprint_id, tags_of(blueprint_id), attributes, center, extent, semantic_tag
    )
