"""The 41 vehicle blueprints of CARLA 0.9.16.

Ids, colours, driver ids and role names come from a live 0.9.15/0.9.16 blueprint
dump; boxes are ``actor.bounding_box`` values measured on a live server (origin at
ground level, centre and half sizes in metres).  ``base_type`` follows Scenic's
generated 0.9.16 lists, ``generation`` CARLA's vehicle catalogue.  ``special_type``,
``has_dynamic_doors``, ``has_lights`` and ``number_of_wheels`` live in Unreal
assets, not in text sources: the values below are best knowledge, not verified.
"""

from __future__ import annotations

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


_V = _Vehicle
_TABLE: tuple[_Vehicle, ...] = (
    _V("audi.a2", "car", "", 1, _CLASSIC, (0.0, 0.0003, 0.7818), (1.8527, 0.8943, 0.7745)),
    _V(
        "audi.etron",
        "car",
        "electric",
        1,
        ("168,0,27", "0,39,105", "33,33,33", "195,168,228"),
        (-0.0036, 0.0, 0.8205),
        (2.4279, 1.0164, 0.8247),
    ),
    _V("audi.tt", "car", "", 1, _CLASSIC, (-0.0004, 0.0, 0.6926), (2.0906, 0.9971, 0.6926)),
    _V(
        "bmw.grandtourer",
        "car",
        "",
        1,
        ("109,109,109", "12,38,88", "68,68,77", "255,255,255", "255,21,0", "0,0,0"),
        (0.0, -0.0005, 0.7651),
        (2.3055, 1.1209, 0.8336),
    ),
    _V(
        "chevrolet.impala",
        "car",
        "",
        1,
        ("61,86,143", "0,12,49", "0,0,0", "71,12,12"),
        (0.0001, 0.0018, 0.7015),
        (2.6787, 1.0166, 0.7053),
    ),
    _V(
        "citroen.c3",
        "car",
        "",
        1,
        (_GRAY, *_CLASSIC),
        (0.0, 0.0024, 0.7619),
        (1.9938, 0.9254, 0.8086),
    ),
    _V(
        "dodge.charger_2020",
        "car",
        "",
        2,
        ("73,0,0", "0,39,105", "0,0,0", "211,142,0"),
        (-0.0053, 0.0, 0.7656),
        (2.5039, 0.9408, 0.7674),
    ),
    _V(
        "dodge.charger_police",
        "car",
        "emergency",
        1,
        ("0,0,0", "8,53,0"),
        (0.0236, 0.0006, 0.7927),
        (2.4871, 1.0192, 0.7711),
    ),
    _V(
        "dodge.charger_police_2020",
        "car",
        "emergency",
        2,
        ("0,0,0",),
        (0.1095, 0.0, 0.8174),
        (2.6188, 0.9649, 0.8192),
    ),
    _V(
        "ford.crown",
        "car",
        "taxi",
        2,
        ("255,185,0",),
        (0.1854, 0.0, 0.7684),
        (2.6828, 0.9004, 0.7875),
    ),
    _V(
        "ford.mustang",
        "car",
        "",
        1,
        ("0,12,58", "85,0,0", "160,160,160", "0,21,0", "0,0,0"),
        (0.0321, 0.0, 0.6505),
        (2.3588, 0.9474, 0.6505),
    ),
    _V(
        "jeep.wrangler_rubicon",
        "car",
        "",
        1,
        (_GRAY, *_CLASSIC),
        (0.0002, 0.001, 0.9323),
        (1.9331, 0.9526, 0.939),
    ),
    _V(
        "lincoln.mkz_2017",
        "car",
        "",
        1,
        ("16,16,16",),
        (0.004, 0.0, 0.7189),
        (2.4508, 1.0642, 0.7554),
    ),
    _V(
        "lincoln.mkz_2020",
        "car",
        "",
        2,
        ("0,0,0",),
        (-0.0063, 0.0, 0.7488),
        (2.4462, 0.9184, 0.7451),
        drivers=("0",),
    ),
    _V(
        "mercedes.coupe",
        "car",
        "",
        1,
        (_GRAY, *_CLASSIC),
        (0.0, -0.0008, 0.6668),
        (2.5134, 1.0758, 0.8253),
    ),
    _V(
        "mercedes.coupe_2020",
        "car",
        "",
        2,
        ("73,0,0", "0,21,81", "0,0,0", "187,187,187"),
        (-0.0026, 0.0, 0.7204),
        (2.3368, 0.9059, 0.721),
    ),
    _V(
        "micro.microlino",
        "car",
        "electric",
        1,
        ("21,158,255", "145,255,181", "255,33,0", "255,208,0", "181,255,0"),
        (0.0, -0.0001, 0.6772),
        (1.1036, 0.7405, 0.688),
    ),
    _V(
        "mini.cooper_s",
        "car",
        "",
        1,
        (_GRAY, *_CLASSIC),
        (0.0, -0.0001, 0.693),
        (1.9029, 0.9851, 0.7375),
    ),
    _V(
        "mini.cooper_s_2021",
        "car",
        "",
        2,
        ("73,0,0", "22,31,73", "215,88,0", "0,28,0"),
        (-0.0313, 0.0, 0.891),
        (2.2763, 1.0485, 0.8836),
    ),
    _V(
        "nissan.micra",
        "car",
        "",
        1,
        ("243,243,243", "83,83,86", "187,0,0", "28,0,46", "0,0,0", "17,21,99"),
        (0.0, 0.001, 0.7812),
        (1.8167, 0.9226, 0.7506),
    ),
    _V(
        "nissan.patrol",
        "car",
        "",
        1,
        ("183,187,162", "0,0,0", "66,52,33", "22,24,43", "201,147,0"),
        (-0.0574, 0.0002, 0.9351),
        (2.3023, 0.9658, 0.9274),
    ),
    _V(
        "nissan.patrol_2021",
        "car",
        "",
        2,
        (_GRAY, "159,0,0", "0,38,105", "12,42,12", "0,0,0"),
        (0.0284, 0.0, 1.0167),
        (2.7829, 1.075, 1.0226),
    ),
    _V(
        "seat.leon",
        "car",
        "",
        1,
        ("42,61,214", "21,38,98", "38,38,38", "79,33,85", "155,0,0", "0,0,0"),
        (-0.0002, -0.0016, 0.7396),
        (2.0964, 0.9081, 0.7369),
    ),
    _V(
        "tesla.model3",
        "car",
        "electric",
        1,
        ("17,37,103", "75,86,173", "180,42,42", "0,0,0", "137,0,0"),
        (0.0292, 0.0, 0.7359),
        (2.3959, 1.0817, 0.7438),
    ),
    _V(
        "toyota.prius",
        "car",
        "electric",
        1,
        ("255,0,0", "215,255,143", "96,102,99", "28,46,58", "23,51,236", "227,227,227", "0,0,0"),
        (0.002, -0.0004, 0.7242),
        (2.2568, 1.0034, 0.7624),
    ),
    _V(
        "carlamotors.carlacola",
        "truck",
        "",
        1,
        ("255,68,0",),
        (0.0, 0.0, 1.2337),
        (2.6019, 1.3135, 1.2337),
    ),
    _V(
        "carlamotors.european_hgv",
        "truck",
        "",
        2,
        ("231,0,0", "255,255,255", "28,28,28", "42,61,156", "127,127,127", "255,103,0"),
        (0.0127, 0.0053, 1.7306),
        (3.9679, 1.4455, 1.731),
        wheels=6,
    ),
    _V(
        "carlamotors.firetruck",
        "truck",
        "emergency",
        2,
        ("234,0,0",),
        (-0.2534, 0.0053, 1.9133),
        (4.234, 1.4455, 1.9137),
    ),
    _V(
        "tesla.cybertruck", "truck", "electric", 2, (), (0.0, 0.0, 1.0491), (3.1368, 1.1948, 1.0491)
    ),
    _V(
        "ford.ambulance",
        "van",
        "emergency",
        2,
        ("231,231,231",),
        (-0.2886, 0.0019, 1.2156),
        (3.1828, 1.1756, 1.2157),
    ),
    _V(
        "mercedes.sprinter",
        "van",
        "",
        2,
        ("167,166,175", "255,255,255", "115,115,115"),
        (-0.0105, 0.0041, 1.2882),
        (2.9576, 0.9942, 1.2803),
    ),
    _V(
        "volkswagen.t2",
        "van",
        "",
        1,
        ("73,12,12", "22,31,73", "215,89,0", "105,103,0", "0,33,5", "158,40,82"),
        (0.0013, -0.0005, 1.0145),
        (2.2402, 1.0347, 1.0189),
    ),
    _V(
        "volkswagen.t2_2021",
        "van",
        "",
        2,
        ("73,12,12", "22,31,73", "215,89,0", "105,103,0", "0,33,5", "158,40,82"),
        (0.1167, -0.0004, 0.9912),
        (2.2211, 0.8873, 0.9936),
    ),
    _V(
        "mitsubishi.fusorosa",
        "bus",
        "",
        2,
        ("255,255,255",),
        (-0.4452, -0.1209, 2.1274),
        (5.1363, 1.9721, 2.1264),
    ),
    _V(
        "harley-davidson.low_rider",
        "motorcycle",
        "",
        1,
        ("67,67,67", "255,0,0", "255,154,0", "0,38,132"),
        (0.0, 0.0, 0.8246),
        (1.1751, 0.3831, 0.8247),
        drivers=("0", "3", "7", "4"),
        wheels=2,
    ),
    _V(
        "kawasaki.ninja",
        "motorcycle",
        "",
        1,
        ("11,129,0", "255,203,39", "168,0,0", "0,0,0"),
        (0.0, 0.0, 0.7689),
        (1.0218, 0.3985, 0.7616),
        drivers=("0", "7", "3", "4"),
        wheels=2,
    ),
    _V(
        "vespa.zx125",
        "motorcycle",
        "",
        1,
        ("255,203,39", "30,121,154", "168,0,0", "0,0,0", "208,208,208"),
        (0.01, 0.0, 0.7946),
        (0.9086, 0.433, 0.795),
        drivers=("0", "2", "3", "6"),
        wheels=2,
    ),
    _V(
        "yamaha.yzf",
        "motorcycle",
        "",
        1,
        (
            "0,0,0",
            "206,206,206",
            "0,12,49",
            "42,99,159",
            "61,68,66",
            "33,55,61",
            "255,0,0",
            "58,21,21",
            "155,0,0",
            "255,213,0",
            "127,130,135",
            "141,0,58",
        ),
        (0.0, 0.0, 0.7746),
        (1.0954, 0.433, 0.7652),
        drivers=("0", "2", "3", "6"),
        wheels=2,
    ),
    _V(
        "bh.crossbike",
        "bicycle",
        "",
        1,
        ("20,78,217", "0,112,39", "255,202,0", "180,0,0"),
        (0.0, 0.0, 0.8082),
        (0.7547, 0.433, 0.8062),
        drivers=("2", "3", "7", "8"),
        wheels=2,
    ),
    _V(
        "diamondback.century",
        "bicycle",
        "",
        1,
        ("214,0,0", "50,96,242", "78,247,119"),
        (0.0, 0.0, 0.8157),
        (0.8281, 0.2912, 0.8099),
        drivers=("4", "5", "6", "7"),
        wheels=2,
    ),
    _V(
        "gazelle.omafiets",
        "bicycle",
        "",
        1,
        ("0,0,0", "41,73,217", "202,88,176"),
        (-0.01, 0.0, 0.8946),
        (0.9217, 0.3295, 0.8879),
        drivers=("0", "1", "3", "5"),
        wheels=2,
    ),
)

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
