"""The pinned CARLA 0.9.16 catalog, checked as pure data (no server needed)."""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import subprocess
import sys
from collections import Counter

import pytest

from runner.catalog import (
    ATTR_BOOL,
    ATTR_FLOAT,
    ATTR_INT,
    ATTR_RGBCOLOR,
    ATTR_STRING,
    CARLA_TOWNS,
    DEFAULT_WEATHER,
    SENSOR_BLUEPRINTS,
    WEATHER_FIELDS,
    WEATHER_PRESETS,
    WEATHER_RANGES,
    WORLD_ACTOR_TYPES,
    BlueprintSpec,
    all_blueprints,
    filter_blueprints,
    find_blueprint,
)
from runner.catalog.pattern import wildcard_match


def _ids(pattern: str) -> set[str]:
    return {spec.id for spec in filter_blueprints(pattern)}


def _default(blueprint_id: str, attribute: str) -> str:
    spec = find_blueprint(blueprint_id)
    assert spec is not None, blueprint_id
    attr = spec.attribute(attribute)
    assert attr is not None, (blueprint_id, attribute)
    return attr.default


def _base_type(spec: BlueprintSpec) -> str:
    attr = spec.attribute("base_type")
    assert attr is not None
    return attr.default


def test_vehicle_counts_by_base_type() -> None:
    vehicles = [spec for spec in all_blueprints() if spec.id.startswith("vehicle.")]
    counts = Counter(_base_type(spec) for spec in vehicles)
    assert counts == {"car": 25, "truck": 4, "van": 4, "bus": 1, "motorcycle": 4, "bicycle": 3}


def test_walkers_props_and_sensors_present() -> None:
    ids = {spec.id for spec in all_blueprints()}
    walkers = {i for i in ids if i.startswith("walker.pedestrian.")}
    assert walkers == {f"walker.pedestrian.{n:04d}" for n in range(1, 53)}
    props = {i for i in ids if i.startswith("static.prop.")}
    assert len(props) >= 95
    assert {
        "static.prop.fountain",
        "static.prop.bike helmet",
        "static.prop.streetfountain",
    } <= props
    assert {"controller.ai.walker", "static.trigger.friction"} <= ids
    assert set(SENSOR_BLUEPRINTS.values()) <= ids
    assert "sensor.camera.optical_flow" in ids


def test_ids_unique_and_tags_as_carla() -> None:
    specs = all_blueprints()
    assert len({spec.id for spec in specs}) == len(specs)
    for spec in specs:
        assert spec.tags == tuple(spec.id.split("."))
    assert find_blueprint("vehicle.tesla.model3").tags == ("vehicle", "tesla", "model3")  # type: ignore[union-attr]


def _valid(kind: int, value: str) -> bool:
    if kind == ATTR_BOOL:
        return value in ("true", "false")
    if kind == ATTR_INT:
        return str(int(value)) == value
    if kind == ATTR_FLOAT:
        return math.isfinite(float(value))
    if kind == ATTR_RGBCOLOR:
        channels = [int(part) for part in value.split(",")]
        return len(channels) == 3 and all(0 <= c <= 255 for c in channels)
    return kind == ATTR_STRING


def test_every_recommended_value_parses_as_its_type() -> None:
    for spec in all_blueprints():
        names = [attr.id for attr in spec.attributes]
        assert len(names) == len(set(names)), spec.id
        assert names[0] == "role_name", spec.id
        for attr in spec.attributes:
            assert attr.recommended, (spec.id, attr.id)
            for value in attr.recommended:
                assert _valid(attr.type, value), (spec.id, attr.id, value)


def test_role_name_defaults() -> None:
    assert _default("vehicle.audi.a2", "role_name") == "autopilot"
    assert find_blueprint("vehicle.audi.a2").attribute("role_name").recommended == (  # type: ignore[union-attr]
        "autopilot",
        "scenario",
        "ego_vehicle",
    )
    assert _default("walker.pedestrian.0001", "role_name") == "pedestrian"
    assert _default("static.prop.fountain", "role_name") == "prop"
    assert _default("sensor.camera.rgb", "role_name") == "front"
    assert _default("sensor.other.collision", "role_name") == "front"
    assert _default("sensor.other.gnss", "role_name") == "default"


def test_camera_defaults() -> None:
    for kind in ("rgb", "depth", "semantic_segmentation", "instance_segmentation"):
        bp = f"sensor.camera.{kind}"
        assert _default(bp, "image_size_x") == "800"
        assert _default(bp, "image_size_y") == "600"
        assert float(_default(bp, "fov")) == 90.0
        assert float(_default(bp, "sensor_tick")) == 0.0
        assert float(_default(bp, "lens_k")) == -1.0
        assert float(_default(bp, "lens_x_size")) == 0.08
    rgb = find_blueprint("sensor.camera.rgb")
    assert rgb is not None
    assert float(_default("sensor.camera.rgb", "gamma")) == 2.2
    assert _default("sensor.camera.rgb", "exposure_mode") == "histogram"
    assert _default("sensor.camera.rgb", "blade_count") == "5"
    assert rgb.attribute("enable_postprocess_effects").type == ATTR_BOOL  # type: ignore[union-attr]
    assert find_blueprint("sensor.camera.depth").attribute("gamma") is None  # type: ignore[union-attr]


def test_lidar_gnss_imu_collision_defaults() -> None:
    lidar = "sensor.lidar.ray_cast"
    assert _default(lidar, "channels") == "32"
    assert float(_default(lidar, "range")) == 10.0
    assert _default(lidar, "points_per_second") == "56000"
    assert float(_default(lidar, "lower_fov")) == -30.0
    assert float(_default(lidar, "horizontal_fov")) == 360.0
    assert float(_default(lidar, "atmosphere_attenuation_rate")) == 0.004
    assert float(_default(lidar, "dropoff_general_rate")) == 0.45
    for noise in ("noise_lat_bias", "noise_lon_stddev", "noise_alt_bias"):
        assert float(_default("sensor.other.gnss", noise)) == 0.0
    assert _default("sensor.other.imu", "noise_seed") == "0"
    assert float(_default("sensor.other.imu", "noise_gyro_bias_z")) == 0.0
    collision = find_blueprint("sensor.other.collision")
    assert collision is not None
    assert {attr.id for attr in collision.attributes} == {"role_name", "ros_name"}


def test_vehicle_attributes() -> None:
    model3 = find_blueprint("vehicle.tesla.model3")
    assert model3 is not None
    assert model3.semantic_tag == 14
    color = model3.attribute("color")
    assert color is not None and color.type == ATTR_RGBCOLOR and color.modifiable
    assert model3.attribute("number_of_wheels").modifiable is False  # type: ignore[union-attr]
    assert _default("vehicle.tesla.model3", "sticky_control") == "true"
    assert _default("vehicle.tesla.model3", "terramechanics") == "false"
    assert model3.bbox_extent == pytest.approx((2.396, 1.082, 0.744), abs=1e-3)
    driver = find_blueprint("vehicle.kawasaki.ninja").attribute("driver_id")  # type: ignore[union-attr]
    assert driver is not None and driver.restrict_to_recommended
    assert _default("vehicle.yamaha.yzf", "number_of_wheels") == "2"
    assert find_blueprint("vehicle.mitsubishi.fusorosa").semantic_tag == 16  # type: ignore[union-attr]


def test_boxes_are_believable() -> None:
    for spec in all_blueprints():
        if spec.id.startswith(("vehicle.", "walker.", "static.prop.")):
            assert all(e > 0 for e in spec.bbox_extent), spec.id
        if spec.id.startswith("vehicle."):
            assert spec.bbox_center[2] == pytest.approx(spec.bbox_extent[2], abs=0.2), spec.id
    fountain = find_blueprint("static.prop.fountain")
    assert fountain is not None and 3.5 < fountain.bbox_extent[0] < 5.0
    assert find_blueprint("walker.pedestrian.0001").bbox_extent[2] == 0.93  # type: ignore[union-attr]


def test_filter_semantics() -> None:
    assert len(_ids("vehicle.*")) == 41
    assert _ids("vehicle") == _ids("vehicle.*")
    assert _ids("*tesla*") == {"vehicle.tesla.model3", "vehicle.tesla.cybertruck"}
    assert _ids("model3") == {"vehicle.tesla.model3"}
    walker_ids = _ids("walker")
    assert len(walker_ids) == 53 and "controller.ai.walker" in walker_ids
    assert len(_ids("sensor.camera.*")) == 7
    assert _ids("static.prop.bike helmet") == {"static.prop.bike helmet"}
    assert _ids("Vehicle.*") == set()


PATTERNS = [
    "*",
    "vehicle.*",
    "*.tesla.*",
    "walker.pedestrian.00[0-2]?",
    "[!v]*",
    "[^v]*",
    "static.prop.trafficcone0[12]",
    "a\\*b",
    "x[",
    "[]]",
    "[a-]",
    "*[.]*",
    "?",
]
TEXTS = [
    "vehicle.tesla.model3",
    "walker.pedestrian.0015",
    "walker.pedestrian.0031",
    "a*b",
    "ab",
    "x[",
    "]",
    "-",
    "a",
    "static.prop.trafficcone02",
    "static.prop.bike helmet",
    "",
]


def test_wildcard_agrees_with_libc_fnmatch() -> None:
    libc_name = ctypes.util.find_library("c")
    if sys.platform != "linux" or libc_name is None:
        pytest.skip("needs glibc fnmatch")
    fnmatch = ctypes.CDLL(libc_name).fnmatch
    for pattern in PATTERNS:
        for text in TEXTS:
            expected = fnmatch(pattern.encode(), text.encode(), 0) == 0
            assert wildcard_match(text, pattern) == expected, (pattern, text)


def test_weather_fields_and_presets_match_the_wheel() -> None:
    carla = pytest.importorskip("carla")
    assert len(WEATHER_FIELDS) == 14
    wheel = carla.WeatherParameters
    names = {n for n in dir(wheel) if isinstance(getattr(wheel, n), wheel)}
    assert set(WEATHER_PRESETS) == names
    for name, preset in WEATHER_PRESETS.items():
        assert tuple(preset) == WEATHER_FIELDS, name
        for field, value in preset.items():
            actual = getattr(getattr(wheel, name), field)
            assert actual == pytest.approx(value, rel=1e-6), (name, field)
    fresh = wheel()
    assert [getattr(fresh, f) for f in WEATHER_FIELDS[:2]] == [0.0, 0.0]


def test_default_weather_is_clear_noon_with_a_real_sun() -> None:
    assert tuple(DEFAULT_WEATHER) == WEATHER_FIELDS
    for field, value in DEFAULT_WEATHER.items():
        low, high = WEATHER_RANGES[field]
        assert low <= value <= high, field
        if field != "sun_azimuth_angle":
            assert value == WEATHER_PRESETS["ClearNoon"][field]
    assert set(WEATHER_RANGES) == set(WEATHER_FIELDS)


def test_towns() -> None:
    assert len(CARLA_TOWNS) == 20
    assert {"Town10HD_Opt", "Town07_Opt", "Town13", "Town15"} <= set(CARLA_TOWNS)
    assert "Town08" not in CARLA_TOWNS


def test_world_actor_types_are_not_in_the_library() -> None:
    assert WORLD_ACTOR_TYPES["traffic.traffic_light"].semantic_tag == 7
    assert WORLD_ACTOR_TYPES["traffic.speed_limit.30"].semantic_tag == 8
    assert WORLD_ACTOR_TYPES["traffic.stop"].semantic_tag == 8
    assert WORLD_ACTOR_TYPES["spectator"].semantic_tag == 0
    for type_id in WORLD_ACTOR_TYPES:
        assert find_blueprint(type_id) is None
    assert _ids("traffic.*") == set()


def test_import_stays_light() -> None:
    code = "import sys, runner.catalog; assert not {'carla', 'numpy'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
