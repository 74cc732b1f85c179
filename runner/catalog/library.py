"""The blueprint library: every spawnable 0.9.16 blueprint and CARLA's lookups."""

from __future__ import annotations

from runner.catalog.pattern import wildcard_match
from runner.catalog.props import FRICTION_TRIGGER, PROPS
from runner.catalog.sensors import SENSORS
from runner.catalog.spec import BlueprintSpec, identity_attributes, make_blueprint
from runner.catalog.vehicles import VEHICLES
from runner.catalog.walkers import WALKER_CONTROLLER, WALKERS

# An invisible actor to attach things to (added in 0.9.15).
EMPTY_ACTOR = make_blueprint("util.actor.empty", identity_attributes("util.actor.empty"))

_ALL: tuple[BlueprintSpec, ...] = (
    *VEHICLES,
    *WALKERS,
    WALKER_CONTROLLER,
    *PROPS,
    FRICTION_TRIGGER,
    *SENSORS,
    EMPTY_ACTOR,
)
_BY_ID: dict[str, BlueprintSpec] = {spec.id: spec for spec in _ALL}


def all_blueprints() -> tuple[BlueprintSpec, ...]:
    """Every spawnable blueprint, in a stable order (vehicles, walkers, props, sensors)."""
    return _ALL


def find_blueprint(blueprint_id: str) -> BlueprintSpec | None:
    """The blueprint with exactly this id (``BlueprintLibrary.find``), or None."""
    return _BY_ID.get(blueprint_id)


def matches(spec: BlueprintSpec, pattern: str) -> bool:
    """CARLA's ``ActorBlueprint::MatchTags``: the id or any tag matches the pattern."""
    return wildcard_match(spec.id, pattern) or any(
        wildcard_match(tag, pattern) for tag in spec.tags
    )


def filter_blueprints(pattern: str) -> list[BlueprintSpec]:
    """``BlueprintLibrary.filter``: blueprints whose id or a tag matches ``pattern``.

    As in CARLA, "walker" also returns ``controller.ai.walker`` (tag "walker").
    """
    return [spec for spec in _ALL if matches(spec, pattern)]
