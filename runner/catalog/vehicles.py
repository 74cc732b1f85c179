"""The 41 vehicle blueprints of CARLA 0.9.16.

Ids, colours, driver ids and role names come from a live 0.9.15/0.9.16 blueprint
dump; boxes are ``actor.bounding_box`` values measured on a live server (origin at
ground level, centre and half sizes in metres).  ``base_type`` follows Scenic's
generated 0.9.16 lists, ``generation`` CARLA's vehicle catalogue.  ``special_type``,
``has_dynamic_doors``, ``has_lights`` and ``number_of_wheels`` live in Unreal
assets, not in text sources: the values below are best knowledge, not verified.
The table itself is `vehicles.json`: one keyword record per blueprint.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import NamedTuple

from runner.catalog.spec import (
    ATTR_BOOL,
    ATTR_INT,
    ATTR_RGBCOLOR,
    ATTR_STRING,
    AttributeSpec,
    BlueprintSpec,
    fixed,
    identity_attributes,
    make_blueprint,
    variation,
)

CAR, TRUCK, BUS, MOTORCYCLE, BICYCLE = 14, 15, 16, 18, 19  # CityObjectLabel

_SEMANTIC_BY_BASE = {
    "car": CAR,
    "van": CAR,
    "truck": TRUCK,
    "bus": BUS,
    "motorcycle": MOTORCYCLE,
    "bicycle": BICYCLE,
}

VEHICLE_ROLE_NAMES = ("autopilot", "scenario", "ego_vehicle")

_GRAY = "217,217,217"
_CLASSIC = ("168,0,27", "0,39,105", "16,44,21", "33,33,33")


class _Vehicle(NamedTuple):
    """One row of the vehicle table."""

    name: str  # id without the "vehicle." prefix
    base_type: str
    special_type: str
    generation: int
    colors: tuple[str, ...]
    center: tuple[float, float, float]
    extent: tuple[float, float, float]
    drivers: tuple[str, ...] = ()
    wheels: int = 4


def _load_table() -> tuple[_Vehicle, ...]:
    """The rows of vehicles.json (one keyword record per blueprint)."""
    text = resources.files("runner.catalog").joinpath("vehicles.json").read_text()
    return tuple(
        _Vehicle(
            **{
                **row,
                "colors": tuple(row["colors"]),
                "center": tuple(row["center"]),
                "extent": tuple(row["extent"]),
                "drivers": tuple(row["drivers"]),
            }
        )
        for row in json.loads(text)
    )


_TABLE: tuple[_Vehicle, ...] = _load_table()

# Gen-1 models that received lights in 0.9.10; every gen-2 model has them.
_LIT_GEN1 = frozenset(
    {
        "audi.etron",
        "dodge.charger_police",
        "jeep.wrangler_rubicon",
        "lincoln.mkz_2017",
        "mercedes.coupe",
        "ford.mustang",
        "tesla.model3",
        "volkswagen.t2",
    }
)


def _has_doors(row: _Vehicle) -> bool:
    """Openable doors came with the gen-2 cars and vans."""
    return row.generation == 2 and row.base_type in ("car", "van")


def _attributes(row: _Vehicle, blueprint_id: str) -> tuple[AttributeSpec, ...]:
    """Attributes in CARLA's order: variations first, then fixed attributes."""
    attrs = list(identity_attributes(blueprint_id, *VEHICLE_ROLE_NAMES))
    if row.colors:
        attrs.append(variation("color", ATTR_RGBCOLOR, *row.colors))
    if row.drivers:
        attrs.append(variation("driver_id", ATTR_INT, *row.drivers, restrict=True))
    lights = row.generation == 2 or row.name in _LIT_GEN1
    attrs += [
        variation("sticky_control", ATTR_BOOL, "true"),
        variation("terramechanics", ATTR_BOOL, "false"),
        fixed("object_type", ATTR_STRING, ""),
        fixed("base_type", ATTR_STRING, row.base_type),
        fixed("special_type", ATTR_STRING, row.special_type),
        fixed("number_of_wheels", ATTR_INT, str(row.wheels)),
        fixed("generation", ATTR_INT, str(row.generation)),
        fixed("has_dynamic_doors", ATTR_BOOL, "true" if _has_doors(row) else "false"),
        fixed("has_lights", ATTR_BOOL, "true" if lights else "false"),
    ]
    return tuple(attrs)


def _blueprint(row: _Vehicle) -> BlueprintSpec:
    """The blueprint for one table row."""
    blueprint_id = "vehicle." + row.name
    tag = _SEMANTIC_BY_BASE[row.base_type]
    return make_blueprint(blueprint_id, _attributes(row, blueprint_id), row.extent, row.center, tag)


VEHICLES: tuple[BlueprintSpec, ...] = tuple(_blueprint(row) for row in _TABLE)
