"""Cameras through the real client: a car at a known distance in front of a camera.

Checks, on one frame: car tag pixels (semantic), the car's actor id (instance), depth at
the car's rear centre within 1 cm, its projected 3-D box enclosing its pixels within
2 px, sky at the top, road at the bottom, and the header transform = camera pose.
"""

from __future__ import annotations

import math
import queue
from typing import Any

import carla
import numpy as np
import pytest
from numpy.typing import NDArray

from tests.conftest import require_town

CAR, SKY, ROAD = 14, 11, 1
W, H, FOV = 800, 600, 90.0
DISTANCE_M = 12.0


def _bgra(image: carla.Image) -> NDArray[np.uint8]:
    return np.frombuffer(image.raw_data, np.uint8).reshape(image.height, image.width, 4)


def _world_to_camera(camera: carla.Transform, points: NDArray[np.float64]) -> NDArray[np.float64]:
    inverse = np.array(camera.get_inverse_matrix())
    homogeneous = np.c_[points, np.ones(len(points))]
    return (inverse @ homogeneous.T).T[:, :3]


def _project(cam_points: NDArray[np.float64]) -> NDArray[np.float64]:
    f = W / (2 * math.tan(math.radians(FOV) / 2))
    x, y, z = cam_points[:, 0], cam_points[:, 1], cam_points[:, 2]
    return np.c_[f * y / x + W / 2, -f * z / x + H / 2]


@pytest.fixture()
def scene(client: carla.Client):  # type: ignore[no-untyped-def]
    require_town("Town03")
    world = client.load_world("Town03")
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    spot = world.get_map().get_spawn_points()[20]
    forward = spot.get_forward_vector()
    car_at = carla.Transform(spot.location + forward * DISTANCE_M, spot.rotation)
    car = world.spawn_actor(world.get_blueprint_library().find("vehicle.tesla.model3"), car_at)
    camera_pose = carla.Transform(spot.location + carla.Location(z=1.2), spot.rotation)
    queues: dict[str, queue.Queue[Any]] = {}
    cameras: list[Any] = []
    for kind in ("semantic_segmentation", "instance_segmentation", "depth"):
        bp = world.get_blueprint_library().find(f"sensor.camera.{kind}")
        camera = world.spawn_actor(bp, camera_pose)
        queues[kind] = queue.Queue()
        camera.listen(queues[kind].put)
        cameras.append(camera)
    for _ in range(5):  # let the car settle on the road
        frame = world.tick()
    images = {}
    for kind, q in queues.items():
        image = q.get(timeout=30)
        while image.frame < frame:
            image = q.get(timeout=30)
        images[kind] = image
    snapshot = world.get_snapshot()
    yield car, images, snapshot.find(car.id).get_transform(), camera_pose, frame
    for camera in cameras:
        camera.stop()
        camera.destroy()
    car.destroy()


def test_car_in_front_of_camera(scene) -> None:  # type: ignore[no-untyped-def]
    car, images, car_pose, camera_pose, frame = scene
    semantic = _bgra(images["semantic_segmentation"])
    instance = _bgra(images["instance_segmentation"])
    depth_bgra = _bgra(images["depth"])
    assert all(img.frame == frame for img in images.values())

    header = images["depth"].transform
    assert header.location.distance(camera_pose.location) < 1e-3
    assert abs(header.rotation.yaw - camera_pose.rotation.yaw) % 360 < 1e-3

    car_mask = semantic[:, :, 2] == CAR
    assert car_mask.sum() > 1000
    ids = instance[:, :, 1].astype(int) + 256 * instance[:, :, 0].astype(int)
    assert np.all(ids[car_mask] == car.id & 0xFFFF)
    assert np.all(instance[:, :, 2][car_mask] == CAR)
    assert np.all(semantic[:10, W // 2 - 40 : W // 2 + 40, 2] == SKY)  # buildings may flank it
    assert np.all(semantic[-5:, W // 4 : 3 * W // 4, 2] == ROAD)

    box = car.bounding_box
    corners = np.array([[v.x, v.y, v.z] for v in box.get_world_vertices(car_pose)])
    uv = _project(_world_to_camera(header, corners))
    rows, cols = np.nonzero(car_mask)
    assert cols.min() >= uv[:, 0].min() - 2 and cols.max() <= uv[:, 0].max() + 2
    assert rows.min() >= uv[:, 1].min() - 2 and rows.max() <= uv[:, 1].max() + 2

    rear = car_pose.transform(carla.Location(box.location.x - box.extent.x, 0.0, box.location.z))
    cam = _world_to_camera(header, np.array([[rear.x, rear.y, rear.z]]))
    u, v = _project(cam)[0]
    b, g, r = (depth_bgra[int(v), int(u), i].astype(float) for i in range(3))
    depth_m = 1000.0 * (r + 256 * g + 65536 * b) / (256**3 - 1)
    assert abs(depth_m - cam[0, 0]) < 0.01
