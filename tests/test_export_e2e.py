"""The export through the real carla client against the embedded server.

A small rig of our own (the runner's tick loop feeds ExportSinks the same way):
cameras on one pose in Town03, two cars touching on screen and a fountain prop in
view, synchronous ticks, each frame's data matched by frame number, then
`ExportSinks` writes the run folder. The checks load what was written with
pycocotools, the client's own converters and the dataset loader.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import carla
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from runner.export.checks import SensorInfo
from runner.export.context import ContextBuilder, FrameData
from runner.export.sinks import ExportSinks
from runner.export.targets import ExportSpec
from tests.conftest import require_town

W, H, FOV = 800, 600, 90.0
CAMERAS = {
    "rgb": "sensor.camera.rgb",
    "rgb_instance": "sensor.camera.instance_segmentation",
    "semseg": "sensor.camera.semantic_segmentation",
    "depth": "sensor.camera.depth",
}
SENSOR_TYPES = {
    "sensor.camera.rgb": "rgb",
    "sensor.camera.instance_segmentation": "instance_segmentation",
    "sensor.camera.semantic_segmentation": "semantic_segmentation",
    "sensor.camera.depth": "depth",
}
EXPORT = {
    "images": {"rgb": "raw", "semseg": "cityscapes", "depth": ["logdepth", "depth_m"]},
    "coco": {
        "camera": "rgb",
        "classes": ["car", "pedestrian", "traffic sign", "traffic light", "static"],
        "crowd": True,
    },
    "yolo": True,
}


class Rig:
    """Cameras at one world pose, data matched by frame, FrameData built per tick."""

    def __init__(self, world: Any, pose: Any, cameras: dict[str, str]) -> None:
        self.world = world
        self.queues: dict[str, queue.Queue[Any]] = {}
        self.sensors: list[Any] = []
        library = world.get_blueprint_library()
        for name, blueprint in cameras.items():
            bp = library.find(blueprint)
            sensor = world.spawn_actor(bp, pose)
            self.sensors.append(sensor)
            self.queues[name] = queue.Queue()
            sensor.listen(self.queues[name].put)
        self.builder = ContextBuilder(world)
        self.infos = {
            name: SensorInfo(SENSOR_TYPES[bp], "world", _pose(pose), W, H, FOV, 1, 0.0)
            for name, bp in cameras.items()
        }

    def tick(self) -> FrameData:
        frame = self.world.tick()
        data = {name: self._take(q, frame) for name, q in self.queues.items()}
        context = self.builder.build(frame, data)
        return FrameData(frame, context.sim_time_s, data, context)

    @staticmethod
    def _take(q: queue.Queue[Any], frame: int) -> Any:
        while True:
            item = q.get(timeout=30)
            if item.frame == frame:
                return item

    def destroy(self) -> None:
        for sensor in self.sensors:
            sensor.stop()
            sensor.destroy()


def _pose(t: Any) -> tuple[float, float, float, float, float, float]:
    loc, rot = t.location, t.rotation
    return (loc.x, loc.y, loc.z, rot.pitch, rot.yaw, rot.roll)


def street_scene(world: Any) -> tuple[Any, list[Any]]:
    """A camera pose on a Town03 lane; two cars touching on screen; a fountain in view."""
    spot = world.get_map().get_spawn_points()[20]
    fwd, right = spot.get_forward_vector(), spot.get_right_vector()
    library = world.get_blueprint_library()
    car = library.find("vehicle.tesla.model3")
    actors = [
        world.spawn_actor(car, carla.Transform(spot.location + fwd * 11.0, spot.rotation)),
        world.spawn_actor(
            car, carla.Transform(spot.location + fwd * 17.0 + right * 1.6, spot.rotation)
        ),
        world.spawn_actor(
            library.find("static.prop.fountain"),
            carla.Transform(spot.location + fwd * 40.0 - right * 9.0, spot.rotation),
        ),
    ]
    camera = carla.Transform(spot.location + carla.Location(z=1.7), spot.rotation)
    return camera, actors


def record_run(world: Any, run_dir: Path, ticks: int, export: dict[str, Any]) -> dict[str, Any]:
    """Spawn the scene, tick `ticks` times into ExportSinks; returns facts for the checks."""
    camera, actors = street_scene(world)
    rig = Rig(world, camera, CAMERAS)
    kept: list[FrameData] = []
    try:
        for _ in range(3):
            rig.tick()
        with ExportSinks.open(run_dir, ExportSpec.model_validate(export), rig.infos) as sinks:
            for _ in range(ticks):
                fd = rig.tick()
                sinks.submit(fd)
                kept.append(fd)
        ids = [a.id for a in actors]
        images = {name: kept[-1].data[name] for name in CAMERAS}
        return {"summary": sinks.summary, "actor_ids": ids, "last": images, "frames": kept}
    finally:
        rig.destroy()
        for actor in actors:
            actor.destroy()


@pytest.fixture(scope="module")
def run(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_town("Town03")
    client = carla.Client(server.host, server.port)
    client.set_timeout(60.0)
    world = client.load_world("Town03")
    settings = world.get_settings()
    settings.synchronous_mode, settings.fixed_delta_seconds = True, 0.05
    world.apply_settings(settings)
    run_dir = tmp_path_factory.mktemp("run")
    second = tmp_path_factory.mktemp("second")
    try:
        facts = record_run(world, run_dir, 4, EXPORT)
        record_run(world, second, 2, {"coco": {"camera": "rgb"}})
        facts["run_dir"], facts["second"] = run_dir, second
        yield facts
    finally:
        settings.synchronous_mode, settings.fixed_delta_seconds = False, None
        world.apply_settings(settings)


def _coco(run: dict[str, Any]) -> COCO:
    return COCO(str(run["run_dir"] / "coco.json"))


def _anns(coco: COCO, category: str) -> list[dict[str, Any]]:
    (cat,) = coco.getCatIds(catNms=[category])
    return [a for a in coco.loadAnns(coco.getAnnIds(catIds=[cat])) if not a["iscrowd"]]


def test_counts_and_every_file_loads(run: dict[str, Any]) -> None:
    targets = run["summary"].targets
    for key in ("images:rgb", "images:semseg", "images:depth:logdepth", "coco", "yolo", "frames"):
        assert targets[key] == {"written": 4, "dropped": 0, "failed": 0}, key
    coco = _coco(run)
    assert len(coco.getImgIds()) == 4
    for image in coco.loadImgs(coco.getImgIds()):
        assert (run["run_dir"] / image["file_name"]).is_file()
    assert (run["run_dir"] / "preview.png").is_file()
    assert run["summary"].classes["car"] == 8 and run["summary"].classes["static"] == 4


def test_masks_are_nonempty_image_sized_and_inside_their_boxes(run: dict[str, Any]) -> None:
    coco = _coco(run)
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= 12
    for ann in anns:
        mask = coco.annToMask(ann)
        assert mask.shape == (H, W)
        assert mask.sum() == ann["area"] > 0
        rows, cols = np.nonzero(mask)
        x, y, w, h = ann["bbox"]
        assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == (x, y, x + w, y + h)


def test_two_touching_cars_are_two_annotations(run: dict[str, Any]) -> None:
    coco = _coco(run)
    last = max(coco.getImgIds())
    cars = [a for a in _anns(coco, "car") if a["image_id"] == last]
    assert sorted(a["carla_actor_id"] for a in cars) == sorted(run["actor_ids"][:2])
    near, far = sorted(cars, key=lambda a: a["distance_m"])
    assert 10.0 < near["distance_m"] < 13.0 and 15.0 < far["distance_m"] < 19.0
    union = np.maximum(coco.annToMask(near), coco.annToMask(far))
    from cv2 import connectedComponents

    touching = connectedComponents(union, connectivity=8)[0] - 1 == 1
    assert touching  # one blob on screen: a colour-threshold pipeline would see one car
    assert far["occlusion"] > near["occlusion"]  # the far car is partly behind the near one


def test_the_fountain_gets_a_box(run: dict[str, Any]) -> None:
    fountains = _anns(_coco(run), "static")
    assert len(fountains) == 4  # one per frame
    assert {a["carla_type_id"] for a in fountains} == {"static.prop.fountain"}
    assert all(a["carla_actor_id"] == run["actor_ids"][2] for a in fountains)


def test_coco_eval_of_ground_truth_against_itself_is_perfect(run: dict[str, Any]) -> None:
    coco = _coco(run)
    results = [{**a, "score": 1.0} for a in coco.loadAnns(coco.getAnnIds()) if not a["iscrowd"]]
    for kind in ("bbox", "segm"):
        evaluation = COCOeval(coco, coco.loadRes(results), kind)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
        assert evaluation.stats[0] == pytest.approx(1.0), kind


def _read(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return np.asarray(image)


def test_converters_match_the_client_byte_for_byte(run: dict[str, Any]) -> None:
    last, root = run["last"], run["run_dir"]
    frame = last["rgb"].frame
    name = f"{frame:08d}.png"
    raw = np.frombuffer(last["rgb"].raw_data, np.uint8).reshape(H, W, 4)
    assert np.array_equal(_read(root / "rgb" / name), raw[..., :3])
    cases = (
        ("semseg", carla.ColorConverter.CityScapesPalette, root / "semseg" / name, 3),
        ("depth", carla.ColorConverter.LogarithmicDepth, root / "depth/logdepth" / name, 1),
    )
    for sensor, converter, path, channels in cases:
        image = last[sensor]
        image.convert(converter)  # the client's own converter, in place
        theirs = np.frombuffer(image.raw_data, np.uint8).reshape(H, W, 4)
        ours = _read(path)
        expected = theirs[..., :3] if channels == 3 else theirs[..., 0]
        assert np.array_equal(ours, expected), sensor


def test_depth_gray_matches_the_client(run: dict[str, Any], tmp_path: Path) -> None:
    from runner.export.images import depth_gray, pixels

    fd = run["frames"][0]
    image = fd.data["depth"]
    ours = depth_gray(pixels(bytes(image.raw_data), W, H))
    image.convert(carla.ColorConverter.Depth)
    theirs = np.frombuffer(image.raw_data, np.uint8).reshape(H, W, 4)[..., 0]
    assert np.array_equal(ours, theirs)


def test_depth_in_metres_matches_frames_geometry(run: dict[str, Any]) -> None:
    from runner.dataset import load_run

    dataset = load_run(run["run_dir"])
    frame = dataset.frames[-1]
    mm = frame.image_of("images:depth:depth_m")
    assert mm is not None and mm.dtype == np.uint16
    near = min(frame.annotations, key=lambda a: a["distance_m"] or 1e9)
    rows, cols = np.nonzero(frame.mask(near))
    box = near["box3d_camera"]
    z_min = min(c[2] for c in box["corners"])
    depth_m = mm[rows, cols] / 1000.0
    assert depth_m.min() >= z_min - 0.05  # nothing of the car is nearer than its box
    assert np.median(depth_m) < box["center"][2] + box["extent"][0]


def test_frames_reproject_boxes_onto_the_annotations(run: dict[str, Any]) -> None:
    from runner.dataset import load_run

    dataset = load_run(run["run_dir"])
    assert [f.frame for f in dataset] == [fd.frame for fd in run["frames"]]
    frame = dataset.frames[-1]
    k, w2c = frame.sensors["rgb"].k, frame.world_to_camera("rgb")
    assert k is not None and frame.image("rgb") is not None
    actors = {a["id"]: a for a in frame.actors}
    for ann in frame.annotations:
        if ann["carla_actor_id"] is None or ann["truncated"] > 0:
            continue
        corners = frame.box_corners(actors[ann["carla_actor_id"]])
        cam = corners @ w2c[:3, :3].T + w2c[:3, 3]
        uv = (cam @ k.T)[:, :2] / cam[:, 2:3]
        x, y, w, h = ann["bbox"]
        assert uv[:, 0].min() - 2 <= x and x + w <= uv[:, 0].max() + 2
        assert uv[:, 1].min() - 2 <= y and y + h <= uv[:, 1].max() + 2


def test_yolo_labels_match_the_annotations(run: dict[str, Any]) -> None:
    root, coco = run["run_dir"] / "yolo", _coco(run)
    assert "names:" in (root / "data.yaml").read_text()
    for image in coco.loadImgs(coco.getImgIds()):
        stem = Path(image["file_name"]).stem
        lines = (root / "labels" / f"{stem}.txt").read_text().splitlines()
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]])) if not a["iscrowd"]]
        assert len(lines) == len(anns)
        values = np.array([[float(v) for v in line.split()[1:]] for line in lines])
        assert ((values >= 0) & (values <= 1)).all()
        assert (root / "images" / Path(image["file_name"]).name).is_file()


def test_merge_keeps_ids_unique(run: dict[str, Any], tmp_path: Path) -> None:
    from runner.export.coco import merge_coco

    out = tmp_path / "merged" / "all.json"
    counts = merge_coco(out, [run["run_dir"], run["second"]])
    merged = COCO(str(out))
    assert counts["images"] == 6 == len(merged.getImgIds())
    anns = merged.loadAnns(merged.getAnnIds())
    assert len({a["id"] for a in anns}) == len(anns) == counts["annotations"]
    names = [c["name"] for c in merged.loadCats(merged.getCatIds())]
    assert len(names) == len(set(names))
    for image in merged.loadImgs(merged.getImgIds()):
        assert (out.parent / image["file_name"]).is_file()
