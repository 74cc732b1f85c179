"""Static scene content, determinism, traffic-light actors, props and weather looks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.conftest import shared_maps_dir

carla = pytest.importorskip("carla")

from runner.sim.render import labels  # noqa: E402
from runner.sim.render.camera import Pinhole, to_camera  # noqa: E402
from runner.sim.render.renderer import CameraRequest, Renderer  # noqa: E402
from runner.sim.render.scene import build_scene  # noqa: E402
from runner.sim.world.actors import Actor, ActorKind, TrafficLight, TrafficLightState  # noqa: E402
from runner.sim.world.geometry import Transform  # noqa: E402

MAPS = shared_maps_dir()
W, H = 400, 300


def _map(name: str) -> object:
    path = MAPS / f"{name}.xodr"
    if not path.exists():
        pytest.skip(f"{name}.xodr not available")
    return carla.Map(name, path.read_text())


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(_map("Town03"), "Town03")


@pytest.fixture(scope="module")
def street(renderer: Renderer) -> Transform:
    """A camera 2 m above a driving lane, looking along it."""
    wp = _map("Town03").generate_waypoints(10.0)[120]  # type: ignore[attr-defined]
    t = wp.transform
    return Transform(t.location.x, t.location.y, t.location.z + 2.0, 0.0, t.rotation.yaw, 0.0)


def test_scene_is_deterministic_per_map_name() -> None:
    town01 = _map("Town01")
    a, b = build_scene(town01, "Town01"), build_scene(town01, "Town01")
    assert np.array_equal(a.world.vertices, b.world.vertices)
    other = build_scene(town01, "Town01-other-seed")
    assert len(other.world.vertices) != len(a.world.vertices) or not np.array_equal(
        other.world.vertices, a.world.vertices
    )


def test_scene_has_every_static_class(renderer: Renderer) -> None:
    tags = set(np.unique(renderer.scene.world.vertices[:, 9]).astype(int))
    wanted = {
        labels.ROADS,
        labels.SIDEWALKS,
        labels.BUILDINGS,
        labels.POLES,
        labels.TRAFFIC_SIGNS,
        labels.VEGETATION,
        labels.TERRAIN,
        labels.ROAD_LINES,
    }
    assert wanted <= tags
    light_tags = set(np.unique(renderer.scene.traffic_lights.vertices[:, 9]).astype(int))
    assert light_tags == {labels.POLES, labels.TRAFFIC_LIGHT}


def _ahead(cam: Transform, forward_m: float, right_m: float = 0.0) -> Transform:
    rot = cam.rotation_matrix()
    p = np.array(cam.location) + rot[:, 0] * forward_m + rot[:, 1] * right_m
    return Transform(float(p[0]), float(p[1]), cam.z - 2.0, 0.0, cam.yaw, 0.0)


def test_traffic_light_actor_shows_its_state(renderer: Renderer, street: Transform) -> None:
    pose = _ahead(street, 8.0, 1.0)
    facing_camera = Transform(
        pose.x, pose.y, pose.z, 0.0, street.yaw + 90.0, 0.0
    )  # lamps face -fwd
    light = Actor(
        321,
        "traffic.traffic_light",
        ActorKind.TRAFFIC_LIGHT,
        {},
        facing_camera,
        traffic_light=TrafficLight("1", 0, 0, TrafficLightState.GREEN),
    )
    req = CameraRequest(street, W, H, 90.0, frozenset({"rgb", "instance"}))
    img = renderer.render([req], [light], {"sun_altitude_angle": 45.0})[0]
    assert img.instance is not None and img.rgb is not None
    ids = img.instance[..., 1].astype(int) + 256 * img.instance[..., 0].astype(int)
    housing = (img.instance[..., 2] == labels.TRAFFIC_LIGHT) & (ids == 321)
    assert housing.sum() > 50
    pole = (img.instance[..., 2] == labels.POLES) & (ids == 321)
    assert pole.sum() > 10
    bgr = img.rgb[housing].astype(int)
    green = (bgr[:, 1] > 180) & (bgr[:, 2] < 150)
    assert green.sum() > 5  # the lit lamp
    assert not ((bgr[:, 2] > 180) & (bgr[:, 1] < 120)).any()  # red is dark


def test_fountain_is_about_eight_metres_wide(renderer: Renderer, street: Transform) -> None:
    pose = _ahead(street, 25.0)
    fountain = Actor(55, "static.prop.fountain", ActorKind.PROP, {}, pose)
    req = CameraRequest(street, W, H, 90.0, frozenset({"instance"}))
    img = renderer.render([req], [fountain], {})[0].instance
    assert img is not None
    ids = img[..., 1].astype(int) + 256 * img[..., 0].astype(int)
    cols = np.nonzero((ids == 55) & (img[..., 2] == labels.STATIC))[1]
    edges = np.array([[pose.x, pose.y, pose.z], [pose.x, pose.y, pose.z]])
    rot = pose.rotation_matrix()
    edges[0] -= rot[:, 1] * 4.0
    edges[1] += rot[:, 1] * 4.0
    u = Pinhole(W, H, 90.0).project(to_camera(street, edges))[:, 0]
    assert cols.max() - cols.min() > 0.85 * (u[1] - u[0])


def test_weather_presets_look_different(renderer: Renderer, street: Transform) -> None:
    presets = {
        "tutorial": {"cloudiness": 20.0, "precipitation": 20.0, "sun_altitude_angle": 110.0},
        "clear_noon": {"cloudiness": 5.0, "sun_altitude_angle": 45.0, "fog_density": 2.0},
        "hard_rain_noon": {
            "cloudiness": 100.0,
            "precipitation": 100.0,
            "precipitation_deposits": 90.0,
            "sun_altitude_angle": 45.0,
            "fog_density": 7.0,
        },
        "clear_sunset": {"cloudiness": 5.0, "sun_altitude_angle": 15.0},
        "clear_night": {"cloudiness": 5.0, "sun_altitude_angle": -90.0, "fog_density": 60.0},
    }
    req = CameraRequest(street, W, H, 90.0, frozenset({"rgb"}))
    shots = {k: _rgb(renderer.render([req], [], w)[0]) for k, w in presets.items()}
    names = list(shots)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(shots[a] - shots[b]).mean() > 4.0, (a, b)
    assert shots["clear_night"][..., :3].mean() < 0.5 * shots["clear_noon"][..., :3].mean()


def _rgb(images: Any) -> np.ndarray:
    assert images.rgb is not None
    return np.asarray(images.rgb, dtype=float)
