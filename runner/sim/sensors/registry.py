"""The client's sensor registry: the `sensor_type` index that picks a deserializer.

Indices are positions in the 0.9.16 client's `CompositeSerializer` template list
(carla-protocol.md 7.2). The client trusts this number in every stream frame, so a
wrong index makes it parse bytes as the wrong type, and 6 or 12 abort it.
"""

from __future__ import annotations

import enum


class SensorType(enum.IntEnum):
    """Registry index written into the first field of every sensor header."""

    COLLISION = 0
    DEPTH_CAMERA = 1
    NORMALS_CAMERA = 2
    DVS_CAMERA = 3
    GNSS = 4
    IMU = 5
    LANE_INVASION = 6  # client-side sensor: must never receive data
    OBSTACLE_DETECTION = 7
    OPTICAL_FLOW_CAMERA = 8
    RADAR = 9
    SEMANTIC_LIDAR = 10
    LIDAR = 11
    RSS = 12  # no-op in the pip client: must never receive data
    RGB_CAMERA = 13  # CARLA's SceneCaptureCamera
    SEMANTIC_SEGMENTATION_CAMERA = 14
    INSTANCE_SEGMENTATION_CAMERA = 15
    COSMOS_CONTROL = 16
    WORLD_OBSERVER = 17  # the world-state stream (stream 1)
    GBUFFER_UINT8 = 18
    GBUFFER_FLOAT = 19
    V2X = 20
    CUSTOM_V2X = 21


BLUEPRINT_SENSOR_TYPES: dict[str, SensorType] = {
    "sensor.other.collision": SensorType.COLLISION,
    "sensor.camera.depth": SensorType.DEPTH_CAMERA,
    "sensor.camera.normals": SensorType.NORMALS_CAMERA,
    "sensor.camera.dvs": SensorType.DVS_CAMERA,
    "sensor.other.gnss": SensorType.GNSS,
    "sensor.other.imu": SensorType.IMU,
    "sensor.other.lane_invasion": SensorType.LANE_INVASION,
    "sensor.other.obstacle": SensorType.OBSTACLE_DETECTION,
    "sensor.camera.optical_flow": SensorType.OPTICAL_FLOW_CAMERA,
    "sensor.other.radar": SensorType.RADAR,
    "sensor.lidar.ray_cast_semantic": SensorType.SEMANTIC_LIDAR,
    "sensor.lidar.ray_cast": SensorType.LIDAR,
    "sensor.other.rss": SensorType.RSS,
    "sensor.camera.rgb": SensorType.RGB_CAMERA,
    "sensor.camera.semantic_segmentation": SensorType.SEMANTIC_SEGMENTATION_CAMERA,
    "sensor.camera.instance_segmentation": SensorType.INSTANCE_SEGMENTATION_CAMERA,
    "sensor.camera.cosmos_visualization": SensorType.COSMOS_CONTROL,  # id unconfirmed
    "sensor.other.v2x": SensorType.V2X,
    "sensor.other.v2x_custom": SensorType.CUSTOM_V2X,
}

# Types the client must never be sent a frame for (it aborts on them).
SILENT_SENSOR_TYPES = frozenset({SensorType.LANE_INVASION, SensorType.RSS})
