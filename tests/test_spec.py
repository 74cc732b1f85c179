"""The scenario models on their own: defaults, catalog checks and cross-references."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from runner.load import field_names_at
from runner.spec import Scenario, SensorSpec, WeatherSpec, WorldSpec


def scenario(**fields: Any) -> Scenario:
    return Scenario.model_validate({"map": "Town03", **fields})


def test_defaults_are_synchronous_and_reproducible() -> None:
    s = scenario()
    assert s.world.synchronous and s.world.fixed_delta_seconds == 0.05
    assert s.seed == 0 and s.server is None and s.weather is None
    assert s.run.ticks == 100 and s.run.warmup_ticks == 0


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        scenario().seed = 3


def test_weather_preset_shorthand_equals_mapping_form() -> None:
    assert scenario(weather="WetNoon").weather == WeatherSpec(preset="WetNoon")


def test_weather_overrides_keep_field_order() -> None:
    weather = WeatherSpec(sun_altitude_angle=110, cloudiness=20)
    assert list(weather.overrides()) == ["cloudiness", "sun_altitude_angle"]


def test_sun_altitude_of_the_seed_tutorial_is_accepted() -> None:
    assert WeatherSpec(sun_altitude_angle=110).sun_altitude_angle == 110


def test_substepping_off_lifts_the_substep_rule() -> None:
    world = WorldSpec(fixed_delta_seconds=0.1, substepping=False, max_substep_delta_time=0.001)
    assert world.fixed_delta_seconds == 0.1


def test_sensor_blueprint_follows_type() -> None:
    assert SensorSpec(type="semantic_segmentation").blueprint == (
        "sensor.camera.semantic_segmentation"
    )


@pytest.mark.parametrize(
    ("attributes", "fragment"),
    [
        ({"image_size_x": 1280, "fov": 70, "enable_postprocess_effects": False}, None),
        ({"image_size_x": "wide"}, "expected an integer"),
        ({"fov": True}, "expected a number"),
        ({"enable_postprocess_effects": "yes"}, "expected a boolean"),
        ({"lens_flare": 0.2}, "unknown attribute 'lens_flare'"),
    ],
)
def test_sensor_attributes_checked_against_the_catalog(
    attributes: dict[str, Any], fragment: str | None
) -> None:
    if fragment is None:
        assert SensorSpec(type="rgb", attributes=attributes).attributes == attributes
        return
    with pytest.raises(ValidationError, match=fragment):
        SensorSpec(type="rgb", attributes=attributes)


def test_map_accepts_towns_builtins_and_carla_paths() -> None:
    for name in ("Town10HD_Opt", "GridTown", "/Game/Carla/Maps/Town01"):
        assert scenario(map=name).map == name


def test_xodr_map_resolves_relative_to_base_dir(tmp_path: Any) -> None:
    (tmp_path / "roads.xodr").write_text("<OpenDRIVE/>")
    data = {"map": "roads.xodr"}
    assert Scenario.model_validate(data, context={"base_dir": tmp_path}).map == "roads.xodr"
    with pytest.raises(ValidationError, match="OpenDRIVE file not found"):
        Scenario.model_validate(data, context={"base_dir": tmp_path / "elsewhere"})


def test_sensors_may_attach_to_named_props_and_world() -> None:
    s = scenario(
        actors={"props": [{"blueprint": "static.prop.fountain", "name": "fountain"}]},
        sensors={
            "a": {"type": "gnss", "attach_to": "fountain"},
            "b": {"type": "rgb", "attach_to": "world"},
        },
    )
    assert [sensor.attach_to for sensor in s.sensors.values()] == ["fountain", "world"]


def test_prop_names_must_be_unique() -> None:
    prop = {"blueprint": "static.prop.barrel", "name": "p"}
    with pytest.raises(ValidationError, match="prop name 'p'"):
        scenario(actors={"props": [prop, prop]})


def test_lidar_cannot_be_exported_as_images() -> None:
    with pytest.raises(ValidationError, match="not a camera"):
        scenario(
            actors={"ego": {}}, sensors={"l": {"type": "lidar"}}, export={"images": {"l": "raw"}}
        )


def test_ego_attributes_need_an_exact_blueprint() -> None:
    with pytest.raises(ValidationError, match="need an exact blueprint"):
        scenario(actors={"ego": {"attributes": {"color": "1,2,3"}}})
    ego = scenario(
        actors={"ego": {"blueprint": "vehicle.tesla.model3", "attributes": {"color": "1,2,3"}}}
    )
    assert ego.actors.ego is not None and ego.actors.ego.attributes == {"color": "1,2,3"}


def test_transform_and_spawn_point_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match="either spawn_point or transform"):
        scenario(actors={"ego": {"spawn_point": 3, "transform": {"x": 1}}})


def test_field_names_at_walks_models_dicts_and_lists() -> None:
    assert "weather" in field_names_at(())
    assert "capture_every" in field_names_at(("sensors", "any_name"))
    assert "blueprint" in field_names_at(("actors", "props", 0))
    assert "yaw" in field_names_at(("sensors", "cam", "transform"))
    assert field_names_at(("nonsense", "path")) == ()
