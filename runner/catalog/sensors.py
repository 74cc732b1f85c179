"""Sensor blueprints of CARLA 0.9.16 with their attributes and defaults.

Defaults are CARLA's own strings (carla-sensors.md section 1, checked against
``ActorBlueprintFunctionLibrary.cpp``); every float string reads back with float().
As in CARLA, gnss, imu, radar and the V2X sensors keep the plain "default" role
name; the others recommend front, back, left, right, … .
"""

from __future__ import annotations

from runner.catalog.spec import (
    ATTR_BOOL,
    ATTR_FLOAT,
    ATTR_INT,
    ATTR_STRING,
    SENSOR_ROLE_NAMES,
    AttributeSpec,
    BlueprintSpec,
    identity_attributes,
    make_blueprint,
    variation,
)


def _floats(*pairs: tuple[str, str]) -> tuple[AttributeSpec, ...]:
    """Float variations from (name, default) pairs."""
    return tuple(variation(name, ATTR_FLOAT, value) for name, value in pairs)


_TICK = variation("sensor_tick", ATTR_FLOAT, "0.0")
_NOISE_SEED = variation("noise_seed", ATTR_INT, "0")

_CAMERA = (
    variation("image_size_x", ATTR_INT, "800"),
    variation("image_size_y", ATTR_INT, "600"),
    *_floats(
        ("fov", "90.0"),
        ("lens_circle_falloff", "5.0"),
        ("lens_circle_multiplier", "0.0"),
        ("lens_k", "-1.0"),
        ("lens_kcube", "0.0"),
        ("lens_x_size", "0.08"),
        ("lens_y_size", "0.08"),
    ),
)

_POSTPROCESS = (
    variation("exposure_mode", ATTR_STRING, "histogram", "manual", restrict=True),
    *_floats(
        ("exposure_compensation", "0.0"),
        ("shutter_speed", "200.0"),
        ("iso", "100.0"),
        ("fstop", "1.4"),
    ),
    variation("enable_postprocess_effects", ATTR_BOOL, "true"),
    *_floats(
        ("gamma", "2.2"),
        ("motion_blur_intensity", "0.45"),
        ("motion_blur_max_distortion", "0.35"),
        ("lens_flare_intensity", "0.1"),
        ("bloom_intensity", "0.675"),
        ("motion_blur_min_object_screen_size", "0.1"),
        ("exposure_min_bright", "10.0"),
        ("exposure_max_bright", "12.0"),
        ("exposure_speed_up", "3.0"),
        ("exposure_speed_down", "1.0"),
        ("calibration_constant", "16.0"),
        ("focal_distance", "1000.0"),
        ("min_fstop", "1.2"),
    ),
    variation("blade_count", ATTR_INT, "5"),
    *_floats(
        ("blur_amount", "1.0"),
        ("blur_radius", "0.0"),
        ("slope", "0.88"),
        ("toe", "0.55"),
        ("shoulder", "0.26"),
        ("black_clip", "0.0"),
        ("white_clip", "0.04"),
        ("temp", "6500.0"),
        ("tint", "0.0"),
        ("chromatic_aberration_intensity", "0.0"),
        ("chromatic_aberration_offset", "0.0"),
    ),
)

_DVS = (
    *_floats(
        ("positive_threshold", "0.3"),
        ("negative_threshold", "0.3"),
        ("sigma_positive_threshold", "0.0"),
        ("sigma_negative_threshold", "0.0"),
    ),
    variation("refractory_period_ns", ATTR_INT, "0"),
    variation("use_log", ATTR_BOOL, "true"),
    variation("log_eps", ATTR_FLOAT, "0.001"),
)

_LIDAR_COMMON = (
    variation("channels", ATTR_INT, "32"),
    variation("range", ATTR_FLOAT, "10.0"),
    variation("points_per_second", ATTR_INT, "56000"),
    *_floats(("rotation_frequency", "10.0"), ("upper_fov", "10.0"), ("lower_fov", "-30.0")),
)

_LIDAR = (
    *_LIDAR_COMMON,
    variation("atmosphere_attenuation_rate", ATTR_FLOAT, "0.004"),
    _NOISE_SEED,
    *_floats(
        ("dropoff_general_rate", "0.45"),
        ("dropoff_intensity_limit", "0.8"),
        ("dropoff_zero_intensity", "0.4"),
        ("noise_stddev", "0.0"),
        ("horizontal_fov", "360.0"),
    ),
)

_GNSS_NOISE = _floats(
    ("noise_lat_stddev", "0.0"),
    ("noise_lat_bias", "0.0"),
    ("noise_lon_stddev", "0.0"),
    ("noise_lon_bias", "0.0"),
    ("noise_alt_stddev", "0.0"),
    ("noise_alt_bias", "0.0"),
)

_IMU = (
    _NOISE_SEED,
    *_floats(
        *((f"noise_accel_stddev_{axis}", "0.0") for axis in "xyz"),
        *((f"noise_gyro_stddev_{axis}", "0.0") for axis in "xyz"),
        *((f"noise_gyro_bias_{axis}", "0.0") for axis in "xyz"),
    ),
)

_RADAR = (
    *_floats(("horizontal_fov", "30"), ("vertical_fov", "30"), ("range", "100")),
    variation("points_per_second", ATTR_INT, "1500"),
    _NOISE_SEED,
)

_OBSTACLE = (
    *_floats(("distance", "5.0"), ("hit_radius", "0.5")),
    variation("only_dynamics", ATTR_BOOL, "false"),
    variation("debug_linetrace", ATTR_BOOL, "false"),
)

_V2X_RADIO = (
    variation("channel_id", ATTR_STRING, "Default"),
    _NOISE_SEED,
    *_floats(
        ("transmit_power", "21.5"),
        ("receiver_sensitivity", "-99.0"),
        ("frequency_ghz", "5.9"),
        ("combined_antenna_gain", "10.0"),
    ),
    variation("scenario", ATTR_STRING, "highway", "rural", "urban", restrict=True),
    variation("path_loss_model", ATTR_STRING, "winner", "geometric", restrict=True),
    *_floats(("path_loss_exponent", "2.7"), ("d_ref", "1.0"), ("filter_distance", "500.0")),
    variation("use_etsi_fading", ATTR_BOOL, "true"),
    variation("custom_fading_stddev", ATTR_FLOAT, "0.0"),
)

_V2X_CAM = (
    *_floats(("gen_cam_min", "0.1"), ("gen_cam_max", "1.0")),
    variation("fixed_rate", ATTR_BOOL, "false"),
    *_GNSS_NOISE,
    *_floats(
        ("noise_head_stddev", "0.0"),
        ("noise_head_bias", "0.0"),
        *((f"noise_accel_stddev_{axis}", "0.0") for axis in "xyz"),
        ("noise_yawrate_stddev", "0.0"),
        ("noise_yawrate_bias", "0.0"),
        ("noise_vel_stddev_x", "0.0"),
    ),
)


def _sensor(
    blueprint_id: str, *attrs: AttributeSpec, roles: bool = True, ticks: bool = True
) -> BlueprintSpec:
    """A sensor: identity attributes, ``sensor_tick`` if it ticks, then its own."""
    identity = identity_attributes(blueprint_id, *(SENSOR_ROLE_NAMES if roles else ()))
    tick = (_TICK,) if ticks else ()
    return make_blueprint(blueprint_id, (*identity, *tick, *attrs))


SENSORS: tuple[BlueprintSpec, ...] = (
    _sensor("sensor.camera.rgb", *_CAMERA, *_POSTPROCESS),
    _sensor("sensor.camera.depth", *_CAMERA),
    _sensor("sensor.camera.semantic_segmentation", *_CAMERA),
    _sensor("sensor.camera.instance_segmentation", *_CAMERA),
    _sensor("sensor.camera.normals", *_CAMERA),
    _sensor("sensor.camera.optical_flow", *_CAMERA),
    _sensor("sensor.camera.dvs", *_CAMERA, *_POSTPROCESS, *_DVS),
    _sensor("sensor.lidar.ray_cast", *_LIDAR),
    _sensor(
        "sensor.lidar.ray_cast_semantic",
        *_LIDAR_COMMON,
        variation("horizontal_fov", ATTR_FLOAT, "360.0"),
    ),
    _sensor("sensor.other.radar", *_RADAR, roles=False),
    _sensor("sensor.other.gnss", _NOISE_SEED, *_GNSS_NOISE, roles=False),
    _sensor("sensor.other.imu", *_IMU, roles=False),
    _sensor("sensor.other.collision", ticks=False),
    _sensor("sensor.other.lane_invasion", ticks=False),
    _sensor("sensor.other.obstacle", *_OBSTACLE),
    _sensor("sensor.other.rss", ticks=False),
    _sensor("sensor.other.v2x", *_V2X_RADIO, *_V2X_CAM, roles=False),
    _sensor("sensor.other.v2x_custom", *_V2X_RADIO, roles=False),
)

SENSOR_BLUEPRINTS: dict[str, str] = {
    "rgb": "sensor.camera.rgb",
    "depth": "sensor.camera.depth",
    "semantic_segmentation": "sensor.camera.semantic_segmentation",
    "instance_segmentation": "sensor.camera.instance_segmentation",
    "lidar": "sensor.lidar.ray_cast",
    "semantic_lidar": "sensor.lidar.ray_cast_semantic",
    "collision": "sensor.other.collision",
    "gnss": "sensor.other.gnss",
    "imu": "sensor.other.imu",
    "radar": "sensor.other.radar",
    "obstacle": "sensor.other.obstacle",
    "lane_invasion": "sensor.other.lane_invasion",
}
