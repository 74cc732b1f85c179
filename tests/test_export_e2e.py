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
import pytest

from runner.export.context import ContextBuilder, FrameData
from runner.export.sinks import ExportSinks
from runner.export.targets import ExportSpec, SensorInfo
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
    try:
        facts = record_run(world, run_dir, 4, EXPORT)
        facts["run_dir"] = run_dir
        yield facts
    finally:
        settings.synchronous_mode, settings.fixed_delta_seconds = False, None
        world.apply_settings(settings)
