"""Type ids of actors the world creates itself, which CARLA's library does not list.

CARLA registers traffic lights, signs and the spectator found in the level under
these ids (``UCarlaEpisode_GetTrafficSignId``); they cannot be spawned, so
``find_blueprint`` does not return them.  Like CARLA's, their descriptions carry no
attributes.  Boxes are typical sizes, for describing.
"""

from __future__ import annotations

from runner.catalog.spec import BlueprintSpec, make_blueprint

TRAFFIC_LIGHT, TRAFFIC_SIGNS = 7, 8  # CityObjectLabel

SPEED_LIMITS_KMH: tuple[int, ...] = (30, 40, 50, 60, 90, 100, 120, 130)

_LIGHT_EXTENT = (0.3, 0.3, 3.0)
_SIGN_EXTENT = (0.1, 0.4, 1.2)


def _world_actor(type_id: str, extent: tuple[float, float, float], tag: int) -> BlueprintSpec:
    """A described-only actor type, box standing on its origin."""
    center = (0.0, 0.0, extent[2])
    return make_blueprint(type_id, (), extent, center, tag)


def _all() -> dict[str, BlueprintSpec]:
    """Every world actor type by id."""
    types = [_world_actor("traffic.traffic_light", _LIGHT_EXTENT, TRAFFIC_LIGHT)]
    sign_ids = ["traffic.stop", "traffic.yield", "traffic.unknown"]
    sign_ids += [f"traffic.speed_limit.{limit}" for limit in SPEED_LIMITS_KMH]
    types += [_world_actor(type_id, _SIGN_EXTENT, TRAFFIC_SIGNS) for type_id in sign_ids]
    types.append(make_blueprint("spectator", ()))
    return {spec.id: spec for spec in types}


WORLD_ACTOR_TYPES: dict[str, BlueprintSpec] = _all()
