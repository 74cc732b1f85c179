"""Static prop blueprints of CARLA 0.9.16 and the friction trigger.

Ids and sizes (width = y, length = x, height = z, metres) come from Scenic's
``blueprints.py``, generated from a live 0.9.16 server.  The box centre assumes the
mesh pivot at ground level.  CARLA reads ``size`` from its content package; here it
is derived from the largest dimension, which matches CARLA's buckets for the props
checked by eye but is not verified per prop.
"""

from __future__ import annotations

from runner.catalog.spec import (
    ATTR_FLOAT,
    ATTR_STRING,
    BlueprintSpec,
    fixed,
    identity_attributes,
    make_blueprint,
    variation,
)

VEGETATION, STATIC = 9, 20  # CityObjectLabel

_TREES = frozenset({"aporosatree", "coconutpalm", "cypresstree"})

# name, width (y), length (x), height (z) [m]
_DIMENSIONS: tuple[tuple[str, float, float, float], ...] = (
    ("advertisement", 0.287, 1.549, 2.443),
    ("aporosatree", 12.585, 12.958, 15.633),
    ("atm", 0.874, 0.713, 2.276),
    ("barbeque", 0.499, 0.946, 1.264),
    ("barrel", 0.471, 0.46, 0.807),
    ("bench01", 0.736, 1.544, 0.97),
    ("bench02", 0.545, 1.564, 0.509),
    ("bench03", 0.513, 1.583, 0.513),
    ("bike helmet", 0.277, 0.186, 0.171),
    ("bin", 0.638, 0.548, 1.059),
    ("box01", 0.652, 0.652, 0.692),
    ("box02", 0.649, 0.649, 0.649),
    ("box03", 0.67, 0.661, 0.649),
    ("briefcase", 0.181, 0.543, 0.433),
    ("brokentile01", 0.176, 0.134, 0.007),
    ("brokentile02", 0.152, 0.21, 0.008),
    ("brokentile03", 0.145, 0.154, 0.009),
    ("brokentile04", 0.126, 0.13, 0.01),
    ("busstop", 1.894, 3.876, 2.739),
    ("busstoplb", 3.876, 1.894, 2.739),
    ("calibrator", 0.69, 1.548, 0.202),
    ("chainbarrier", 0.239, 1.494, 0.889),
    ("chainbarrierend", 0.239, 0.239, 0.889),
    ("clothcontainer", 1.887, 1.239, 1.81),
    ("clothesline", 1.118, 6.652, 2.061),
    ("coconutpalm", 8.886, 8.604, 20.315),
    ("colacan", 0.072, 0.068, 0.11),
    ("constructioncone", 0.344, 0.344, 0.586),
    ("container", 1.012, 1.932, 1.714),
    ("creasedbox01", 0.713, 0.809, 0.118),
    ("creasedbox02", 0.713, 1.633, 0.212),
    ("creasedbox03", 0.713, 1.669, 0.022),
    ("cypresstree", 4.628, 4.61, 15.679),
    ("dirtdebris01", 1.514, 1.857, 0.149),
    ("dirtdebris02", 1.514, 1.857, 0.149),
    ("dirtdebris03", 1.514, 1.857, 0.188),
    ("doghouse", 1.272, 1.079, 1.094),
    ("foodcart", 4.638, 2.285, 3.573),
    ("fountain", 8.402, 8.402, 6.924),
    ("garbage01", 0.053, 0.053, 0.087),
    ("garbage02", 0.053, 0.053, 0.009),
    ("garbage03", 0.059, 0.06, 0.079),
    ("garbage04", 0.056, 0.057, 0.069),
    ("garbage05", 0.233, 0.232, 0.058),
    ("garbage06", 0.213, 0.366, 0.077),
    ("gardenlamp", 0.281, 0.297, 0.648),
    ("glasscontainer", 2.009, 1.955, 1.788),
    ("gnome", 0.376, 0.367, 0.883),
    ("guitarcase", 0.125, 1.242, 0.494),
    ("haybale", 1.193, 1.248, 1.195),
    ("haybalelb", 1.193, 1.248, 1.195),
    ("ironplank", 1.174, 1.452, 0.021),
    ("kiosk_01", 1.654, 1.625, 3.245),
    ("mailbox", 0.438, 0.527, 1.157),
    ("maptable", 0.617, 1.573, 1.181),
    ("mobile", 0.007, 0.08, 0.166),
    ("motorhelmet", 0.259, 0.2, 0.258),
    ("pergola", 5.085, 5.029, 3.542),
    ("plantpot01", 0.476, 1.089, 0.557),
    ("plantpot02", 0.431, 1.051, 0.487),
    ("plantpot03", 0.431, 1.051, 0.487),
    ("plantpot04", 0.737, 4.967, 0.125),
    ("plantpot05", 0.4, 0.4, 0.28),
    ("plantpot06", 1.593, 1.593, 0.85),
    ("plantpot07", 0.476, 0.495, 0.557),
    ("plantpot08", 0.53, 0.53, 0.489),
    ("plasticbag", 0.403, 0.311, 0.552),
    ("plasticchair", 0.75, 0.73, 1.271),
    ("plastictable", 2.482, 2.482, 2.48),
    ("platformgarbage01", 1.711, 3.633, 0.332),
    ("purse", 0.333, 0.159, 0.585),
    ("shoppingbag", 0.243, 0.474, 0.601),
    ("shoppingcart", 1.208, 0.669, 1.079),
    ("shoppingtrolley", 0.331, 0.506, 1.094),
    ("slide", 4.122, 0.943, 1.977),
    ("streetbarrier", 0.372, 1.215, 1.069),
    ("streetfountain", 0.67, 0.287, 1.259),
    ("streetsign", 0.125, 1.064, 2.154),
    ("streetsign01", 0.303, 2.47, 3.878),
    ("streetsign04", 0.125, 1.171, 2.773),
    ("swing", 1.577, 4.105, 2.572),
    ("swingcouch", 2.362, 1.357, 2.249),
    ("table", 2.152, 2.156, 0.846),
    ("trafficcone01", 0.882, 0.883, 1.133),
    ("trafficcone02", 0.395, 0.456, 1.183),
    ("trafficwarning", 2.871, 2.373, 3.57),
    ("trampoline", 4.132, 4.132, 2.802),
    ("trashbag", 0.43, 0.378, 0.702),
    ("trashcan01", 0.568, 0.635, 0.848),
    ("trashcan02", 0.514, 0.524, 1.045),
    ("trashcan03", 0.545, 0.629, 0.934),
    ("trashcan04", 0.58, 0.789, 1.016),
    ("trashcan05", 0.58, 0.789, 1.016),
    ("travelcase", 0.328, 0.567, 1.263),
    ("vendingmachine", 1.102, 0.873, 2.108),
    ("warningaccident", 1.055, 1.305, 1.86),
    ("warningconstruction", 1.055, 1.305, 1.86),
    ("wateringcan", 0.194, 0.07, 0.135),
)

# Upper bounds [m] of the largest dimension for CARLA's EPropSize buckets.
_SIZE_BUCKETS = ((0.3, "tiny"), (1.0, "small"), (2.5, "medium"), (6.0, "big"))


def prop_size(width: float, length: float, height: float) -> str:
    """CARLA's ``size`` bucket for a prop of these dimensions [m]."""
    largest = max(width, length, height)
    for bound, name in _SIZE_BUCKETS:
        if largest < bound:
            return name
    return "huge"


def _prop(name: str, width: float, length: float, height: float) -> BlueprintSpec:
    """One prop blueprint, box resting on its origin."""
    blueprint_id = "static.prop." + name
    attrs = (
        *identity_attributes(blueprint_id, "prop"),
        fixed("size", ATTR_STRING, prop_size(width, length, height)),
    )
    extent = (length / 2, width / 2, height / 2)
    tag = VEGETATION if name in _TREES else STATIC
    return make_blueprint(blueprint_id, attrs, extent, (0.0, 0.0, height / 2), tag)


PROPS: tuple[BlueprintSpec, ...] = tuple(_prop(*row) for row in _DIMENSIONS)

# CARLA writes these defaults as "3.5f" / "1.0f"; written here so float() reads them.
# The extent attributes are in centimetres (CARLA's docs pass 700.0 for 7 m).
FRICTION_TRIGGER = make_blueprint(
    "static.trigger.friction",
    (
        *identity_attributes("static.trigger.friction"),
        variation("friction", ATTR_FLOAT, "3.5"),
        variation("extent_x", ATTR_FLOAT, "1.0"),
        variation("extent_y", ATTR_FLOAT, "1.0"),
        variation("extent_z", ATTR_FLOAT, "1.0"),
    ),
    extent=(0.01, 0.01, 0.01),
)
