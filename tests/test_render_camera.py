"""The camera renderer against a real Town03 `carla.Map`: tags, ids, depth, projection."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tests.conftest import shared_maps_dir

carla = pytest.importorskip("carla")

from runner.sim.render.camera import (  # noqa: E402
    SENSOR_DEPTH,
    Pinhole,
    decode_depth_m,
    image_payload,
    to_camera,
)
from runner.sim.render.renderer import CameraRequest, Renderer  # noqa: E402
from runner.sim.world.actors import Actor, ActorKind  # noqa: E402
from runner.sim.world.geometry import BoundingBox, Transform  # noqa: E402

MAPS = shared_maps_dir()
W, H, FOV = 800, 600, 90.0
CAR_ID, PROP_ID = 4242, 77
CAR_BOX = BoundingBox((0.0, 0.0, 0.75), (2.3, 1.0, 0.75))
PROP_BOX = BoundingBox((0.0, 0.0, 0.3), (0.3, 0.3, 0.3))
ALL = frozenset({"rgb", "depth", "semantic", "instance"})


def _pose(t: object, dz: float = 0.0, pitch: float | None = None) -> Transform:
    loc, rot = t.location, t.rotation  # type: ignore[attr-defined]
    p = rot.pitch if pitch is None else pitch
    return Transform(loc.x, loc.y, loc.z + dz, p, rot.yaw, rot.roll)


@pytest.fixture(scope="module")
def town03() -> object:
    path = MAPS / "Town03.xodr"
    if not path.exists():
        pytest.skip("Town03.xodr not available")
    return carla.Map("Town03", path.read_text())


@pytest.fixture(scope="module")
def renderer(town03: object) -> Renderer:
    return Renderer(town03, "Town03")


def _straight_waypoint(carla_map: object) -> object:
    """A level, straight stretch of driving lane with 40 m of road ahead."""
    for wp in carla_map.generate_waypoints(10.0):  # type: ignore[attr-defined]
        ahead = wp.next(40.0)
        if wp.is_junction or not ahead or ahead[0].is_junction:
            continue
        if ahead[0].road_id != wp.road_id or abs(wp.transform.location.z) > 0.05:
            continue
        yaw_diff = abs(
            (ahead[0].transform.rotation.yaw - wp.transform.rotation.yaw + 180) % 360 - 180
        )
        if yaw_diff < 0.2 and abs(ahead[0].transform.location.z) < 0.05 and wp.lane_id == -1:
            return wp
    raise AssertionError("no straight road in Town03")


@pytest.fixture(scope="module")
def scene(town03: object, renderer: Renderer) -> dict[str, object]:
    wp = _straight_waypoint(town03)
    cam = _pose(wp.transform, dz=1.7, pitch=0.0)  # type: ignore[attr-defined]
    car_t = _pose(wp.next(12.0)[0].transform)  # type: ignore[attr-defined]
    right = cam.rotation_matrix()[:, 1]
    fwd = cam.rotation_matrix()[:, 0]
    prop_xyz = np.array(cam.location) + fwd * 8.0 - right * 2.2
    prop_t = Transform(float(prop_xyz[0]), float(prop_xyz[1]), car_t.z, 0.0, cam.yaw, 0.0)
    car = Actor(
        CAR_ID,
        "vehicle.tesla.model3",
        ActorKind.VEHICLE,
        {"color": (5, "200,20,20")},
        car_t,
        CAR_BOX,
        bytes([14]),
    )
    prop = Actor(PROP_ID, "static.prop.box01", ActorKind.PROP, {}, prop_t, PROP_BOX)
    req = CameraRequest(cam, W, H, FOV, ALL)
    images = renderer.render([req], [car, prop], {"sun_altitude_angle": 45.0})[0]
    return {"cam": cam, "car": car, "prop": prop, "images": images}


def _corners(actor: Actor) -> np.ndarray:
    c, e = np.array(actor.bounding_box.center), np.array(actor.bounding_box.extent)
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    local = c + signs * e
    m = actor.transform.matrix()
    return np.asarray(local @ m[:3, :3].T + m[:3, 3])


def test_car_tag_and_instance_id(scene: dict) -> None:
    images = scene["images"]
    tags = images.semantic[..., 2]
    car = tags == 14
    assert car.sum() > 2000
    ids = images.instance[..., 1].astype(int) + 256 * images.instance[..., 0].astype(int)
    assert (ids[car] == CAR_ID).all()
    assert (images.instance[..., 2] == tags).all()
    assert (images.semantic[..., :2] == 0).all()
    assert (images.semantic[..., 3] == 255).all()


def test_car_box_encloses_its_pixels(scene: dict) -> None:
    cam, images = scene["cam"], scene["images"]
    uv = Pinhole(W, H, FOV).project(to_camera(cam, _corners(scene["car"])))
    rows, cols = np.nonzero(images.semantic[..., 2] == 14)
    assert cols.min() >= np.floor(uv[:, 0].min()) - 2 and cols.max() <= np.ceil(uv[:, 0].max()) + 2
    assert rows.min() >= np.floor(uv[:, 1].min()) - 2 and rows.max() <= np.ceil(uv[:, 1].max()) + 2
    # and the silhouette fills most of the box's projection
    assert cols.max() - cols.min() > 0.8 * (uv[:, 0].max() - uv[:, 0].min())


def test_depth_at_car_centre_is_planar_distance(scene: dict) -> None:
    cam, car, images = scene["cam"], scene["car"], scene["images"]
    m = car.transform.matrix()
    rear = m[:3, :3] @ np.array([-CAR_BOX.extent[0], 0.0, CAR_BOX.center[2]]) + m[:3, 3]
    normal_world = m[:3, :3] @ np.array([-1.0, 0.0, 0.0])
    p0 = to_camera(cam, rear[None])[0]
    n = cam.rotation_matrix().T @ normal_world
    u, v = Pinhole(W, H, FOV).project(p0[None])[0]
    col, row = int(np.floor(u)), int(np.floor(v))
    f = Pinhole(W, H, FOV).focal_px
    ray = np.array([1.0, (col + 0.5 - W / 2) / f, -(row + 0.5 - H / 2) / f])
    expected = float(n @ p0 / (n @ ray))  # planar depth where the pixel's ray meets the face
    measured = decode_depth_m(images.depth)[row, col]
    assert images.semantic[row, col, 2] == 14
    assert abs(measured - expected) < 0.01


def test_known_point_projects_to_predicted_pixel(scene: dict) -> None:
    cam, images = scene["cam"], scene["images"]
    uv = Pinhole(W, H, FOV).project(to_camera(cam, _corners(scene["prop"])))
    ids = images.instance[..., 1].astype(int) + 256 * images.instance[..., 0].astype(int)
    rows, cols = np.nonzero(ids == PROP_ID)
    assert len(cols) > 50
    # pixel column c covers u in [c, c + 1): the silhouette spans floor(min u) .. floor(max u)
    assert abs(cols.min() - np.floor(uv[:, 0].min())) <= 1
    assert abs(cols.max() - np.floor(uv[:, 0].max())) <= 1
    assert abs(rows.min() - np.floor(uv[:, 1].min())) <= 1
    assert abs(rows.max() - np.floor(uv[:, 1].max())) <= 1


def test_sky_on_top_road_at_bottom(scene: dict) -> None:
    tags = scene["images"].semantic[..., 2]
    depth = decode_depth_m(scene["images"].depth)
    top, bottom = tags[:5], tags[-5:]
    assert (top == 11).mean() > 0.5
    assert (depth[:5][top == 11] == 1000.0).all()
    assert (bottom == 1).mean() > 0.9
    # the road right below: planar depth of flat ground seen from 1.7 m
    f = Pinhole(W, H, FOV).focal_px
    expected = 1.7 * f / (H - 0.5 - H / 2)
    assert abs(depth[-1, W // 2] - expected) < 0.05


def test_outputs_share_one_pass(renderer: Renderer, scene: dict) -> None:
    cam = scene["cam"]
    reqs = [
        CameraRequest(cam, W, H, FOV, frozenset({name})) for name in ("rgb", "depth", "semantic")
    ]
    out = renderer.render(reqs, [scene["car"], scene["prop"]], {"sun_altitude_angle": 45.0})
    assert out[0].rgb is not None and out[0].depth is None
    assert out[1].depth is not None and out[2].semantic is not None
    assert np.array_equal(out[1].depth, scene["images"].depth)
    assert np.array_equal(out[2].semantic, scene["images"].semantic)
    assert out[0].rgb.shape == (H, W, 4)


def test_image_payload_layout(scene: dict) -> None:
    cam, depth = scene["cam"], scene["images"].depth
    data = image_payload(SENSOR_DEPTH, 17, 1.25, cam, FOV, depth)
    sensor_type, frame, timestamp, *pose = struct.unpack_from("<QQd6f", data)
    w, h, fov = struct.unpack_from("<IIf", data, 48)
    assert (sensor_type, frame, timestamp) == (1, 17, 1.25)
    assert np.allclose(pose, [cam.x, cam.y, cam.z, cam.pitch, cam.yaw, cam.roll], atol=1e-3)
    assert (w, h, fov) == (W, H, FOV)
    assert data[60:] == depth.tobytes()
    assert len(data) == 60 + W * H * 4
