"""Instance ids of static scene objects in the embedded renderer.

Every building, tree, lamp, sign and static traffic light is one object with its own
stable instance id (counted down from 0xFFFF); ground surfaces keep id 0; actors
keep their actor id. Two signs side by side in Town01 are two annotations.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_maps_dir

carla = pytest.importorskip("carla")

from runner.export.annotations import ClassTable, instance_instances  # noqa: E402
from runner.sim.render import labels  # noqa: E402
from runner.sim.render.meshes import MeshBuilder, static_instance_ids  # noqa: E402
from runner.sim.render.renderer import CameraRequest, Renderer  # noqa: E402
from runner.sim.render.scene import build_scene  # noqa: E402
from runner.sim.render.shapes import box  # noqa: E402
from runner.sim.world.geometry import Transform  # noqa: E402

TAG, ID = 9, 11  # vertex columns


def _map(name: str) -> object:
    path = shared_maps_dir() / f"{name}.xodr"
    if not path.exists():
        pytest.skip(f"{name}.xodr not available")
    return carla.Map(name, path.read_text())


def test_static_ids_count_down_from_the_top() -> None:
    assert list(static_instance_ids(np.array([0.0, 1.0, 2.0, 3.0]))) == [0, 65535, 65534, 65533]


def test_extend_numbers_objects_after_ours() -> None:
    a, b = MeshBuilder(), MeshBuilder()
    a.add(box((0, 0, 0), (1, 1, 1)), (1, 1, 1), 3, objects=a.new_objects(1))
    b.add(box((0, 0, 0), (1, 1, 1)), (1, 1, 1), 3, objects=b.new_objects(1))
    b.add(box((0, 0, 0), (1, 1, 1)), (1, 1, 1), 1)  # ground: no object
    a.extend(b)
    ids = a.vertices()[:, ID].reshape(-1, 36)[:, 0]
    assert list(ids) == [65535, 65534, 0]
    assert a.object_count == 2


def test_scene_objects_have_ids_and_ground_has_none() -> None:
    scene = build_scene(_map("Town03"), "Town03")
    v = scene.world.vertices
    ground = np.isin(v[:, TAG], [labels.ROADS, labels.SIDEWALKS, labels.TERRAIN, labels.ROAD_LINES])
    assert (v[ground, ID] == 0).all()
    for tag in (labels.BUILDINGS, labels.VEGETATION, labels.POLES, labels.TRAFFIC_SIGNS):
        ids = v[v[:, TAG] == tag, ID]
        assert (ids > 0).all(), tag
        assert len(np.unique(ids)) > 1, tag
    lights = scene.traffic_lights.vertices[:, ID]
    assert (lights > 0).all()
    assert not set(np.unique(lights)) & set(np.unique(v[:, ID]))  # numbered after the world
    assert v[:, ID][v[:, ID] > 0].min() > 60000  # far above the actor ids of a run


def test_ids_are_stable_per_map() -> None:
    town = _map("Town01")
    a, b = build_scene(town, "Town01"), build_scene(town, "Town01")
    assert np.array_equal(a.world.vertices[:, ID], b.world.vertices[:, ID])


def test_two_signs_side_by_side_are_two_annotations() -> None:
    renderer = Renderer(_map("Town01"), "Town01")
    camera = Transform(45.5, 328.7, 2.0, 0.0, 0.0, 0.0)  # two signs 9 m apart ahead
    req = CameraRequest(camera, 800, 600, 90.0, frozenset({"instance"}))
    image = renderer.render([req], [], {})[0].instance
    assert image is not None
    table = ClassTable.build([("traffic sign", [labels.TRAFFIC_SIGNS])])
    signs = instance_instances(image, table, min_px=10)
    assert len(signs) == 2
    assert len({s.instance_id for s in signs}) == 2
    assert all(s.instance_id > 60000 for s in signs)
    xs = sorted(s.bbox[0] for s in signs)
    assert xs[1] - xs[0] > 20  # side by side, not one blob
