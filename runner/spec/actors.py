"""What is spawned before the sensors: the ego, background traffic and static props."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from runner.pose import Pose
from runner.suggest import empty_filter, unknown_blueprint
from runner.validation import (
    AttributeValue,
    Issue,
    StrictModel,
    attribute_issues,
    finding_issues,
    raise_issues,
)


class EgoSpec(StrictModel):
    """The ego vehicle that carries the sensor rig."""

    blueprint: str | None = Field(
        default=None, description="exact blueprint id, e.g. vehicle.tesla.model3"
    )
    filter: str | None = Field(
        default=None, description="CARLA wildcard filter (default 'vehicle.*')"
    )
    spawn_point: int | Literal["random"] = Field(
        default="random", description="index into the map's spawn points, or 'random' (seeded)"
    )
    transform: Pose | None = Field(default=None, description="explicit spawn pose instead")
    autopilot: bool = Field(default=True, description="hand the ego to the Traffic Manager")
    role_name: str = Field(default="hero", description="role_name attribute of the ego")
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="blueprint attributes, e.g. color: '255,0,0'"
    )

    @field_validator("spawn_point", mode="before")
    @classmethod
    def _spawn_point(cls, value: Any) -> Any:
        if value == "random" or (type(value) is int and value >= 0):
            return value
        message = f"expected a spawn point index (integer >= 0) or 'random', got {value!r}"
        raise_issues([((), message, None, False)])

    @field_validator("blueprint")
    @classmethod
    def _known_blueprint(cls, value: str | None) -> str | None:
        if value is not None:
            raise_issues(finding_issues(unknown_blueprint(value, "vehicle.")))
        return value

    @field_validator("filter")
    @classmethod
    def _filter_matches(cls, value: str | None) -> str | None:
        if value is not None:
            raise_issues(finding_issues(empty_filter(value)))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EgoSpec:
        issues: list[Issue] = []
        if self.blueprint is not None and self.filter is not None:
            issues.append((("filter",), "give either blueprint or filter, not both", None, True))
        if self.transform is not None and "spawn_point" in self.model_fields_set:
            message = "give either spawn_point or transform, not both"
            issues.append((("transform",), message, None, True))
        if self.attributes and self.blueprint is None:
            message = "attributes need an exact blueprint (not a filter)"
            issues.append((("attributes",), message, None, True))
        elif self.blueprint is not None:
            issues.extend(attribute_issues(self.blueprint, self.attributes))
        raise_issues(issues)
        return self


class VehiclesSpec(StrictModel):
    """Background traffic: up to `count` vehicles on free spawn points."""

    count: int = Field(
        default=0, ge=0, le=1000, description="vehicles to try to spawn (some may collide)"
    )
    filter: str = Field(
        default="vehicle.*", description="CARLA wildcard filter for their blueprints"
    )
    autopilot: bool = Field(default=True, description="hand them to the Traffic Manager")

    @field_validator("filter")
    @classmethod
    def _filter_matches(cls, value: str) -> str:
        raise_issues(finding_issues(empty_filter(value)))
        return value


class PropSpec(StrictModel):
    """A static prop placed in the world."""

    blueprint: str = Field(description="static blueprint id, e.g. static.prop.fountain")
    transform: Pose = Field(default_factory=Pose, description="world pose")
    name: str | None = Field(default=None, description="a name that sensors can attach_to")

    @field_validator("blueprint")
    @classmethod
    def _known_blueprint(cls, value: str) -> str:
        raise_issues(finding_issues(unknown_blueprint(value, "static.")))
        return value


class ActorsSpec(StrictModel):
    """Everything spawned before the sensors: ego, traffic and props."""

    ego: EgoSpec | None = Field(default=None, description="the vehicle carrying the sensors")
    vehicles: VehiclesSpec = Field(default_factory=VehiclesSpec, description="background traffic")
    props: tuple[PropSpec, ...] = Field(default=(), description="static props")
