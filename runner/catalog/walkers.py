"""Pedestrian blueprints ``walker.pedestrian.0001`` … ``0052`` and their AI controller.

A walker's origin is the centre of its capsule (about 0.93 m above the ground for
an adult), so its box centre is (0, 0, 0); extents are the live-server values.
Speeds are CARLA's recommended values: stop, walk, run (generate_traffic.py picks
index 1 to walk and 2 to run).  Gender is only filled where a public source names
it; "other" is what CARLA reports for an unset gender.
"""

from __future__ import annotations

from runner.catalog.spec import (
    ATTR_BOOL,
    ATTR_FLOAT,
    ATTR_INT,
    ATTR_STRING,
    AttributeSpec,
    BlueprintSpec,
    fixed,
    identity_attributes,
    make_blueprint,
    variation,
)

PEDESTRIANS = 12  # CityObjectLabel
WALKER_COUNT = 52

_ADULT_EXTENT = (0.1877, 0.1877, 0.93)
_SMALL_CHILD_EXTENT = (0.25, 0.25, 0.55)
_CHILD_EXTENT = (0.1877, 0.1877, 0.65)

_SMALL_CHILDREN = frozenset({9, 10, 11, 48, 49})
_CHILDREN = frozenset({12, 13, 14})
_SLOW_SPEEDS = frozenset({9, 10, 11, 12, 13, 14, 48, 49, 50})
_FAST_WALKERS = frozenset({1, 5, 6, 7, 8, 15})
_GENDER = {1: "female", 3: "male", 11: "female", 12: "male", 30: "male", 32: "male"}


def _speeds(number: int) -> tuple[str, ...]:
    """Recommended speeds [m/s]: stop, walk, run."""
    if number == 51:
        return ("0.0", "0.85", "2.0")
    if number in _SLOW_SPEEDS:
        return ("0.0", "1.1", "2.0")
    if number in _FAST_WALKERS:
        return ("0.0", "1.8", "4.0")
    return ("0.0", "1.7", "4.0")


def _extent(number: int) -> tuple[float, float, float]:
    """Capsule half sizes [m]."""
    if number in _SMALL_CHILDREN:
        return _SMALL_CHILD_EXTENT
    if number in _CHILDREN:
        return _CHILD_EXTENT
    return _ADULT_EXTENT


def _attributes(number: int, blueprint_id: str) -> tuple[AttributeSpec, ...]:
    """Attributes in CARLA's order: variations first, then fixed attributes."""
    is_child = number in _SMALL_CHILDREN or number in _CHILDREN
    return (
        *identity_attributes(blueprint_id, "pedestrian"),
        variation("speed", ATTR_FLOAT, *_speeds(number)),
        variation("is_invincible", ATTR_BOOL, "true"),
        fixed("gender", ATTR_STRING, _GENDER.get(number, "other")),
        fixed("generation", ATTR_INT, "1" if number <= 14 else "2"),
        fixed("age", ATTR_STRING, "child" if is_child else "adult"),
    )


def _walker(number: int) -> BlueprintSpec:
    """The blueprint of walker number ``number``."""
    blueprint_id = f"walker.pedestrian.{number:04d}"
    attrs = _attributes(number, blueprint_id)
    return make_blueprint(blueprint_id, attrs, _extent(number), (0.0, 0.0, 0.0), PEDESTRIANS)


WALKERS: tuple[BlueprintSpec, ...] = tuple(_walker(n) for n in range(1, WALKER_COUNT + 1))

WALKER_CONTROLLER = make_blueprint(
    "controller.ai.walker", identity_attributes("controller.ai.walker")
)
