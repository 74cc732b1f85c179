"""What the COCO export costs a run: ticks/s with it against the same loop without it.

One embedded server, Town03, an ego driven along waypoints past parked cars (as the
seed tutorial drives), RGB + semantic + depth + instance cameras at 800x600 on the ego.
Each tick: world.tick(), every camera's frame matched by number. The "export" loop
also builds the frame context and submits the frame to ExportSinks (4 PNGs + COCO +
frames.jsonl); the plain loop drops the data. The loops alternate (plain, export,
plain, export) in the same run; the cost is 1 - export rate / plain rate (target <= 15%
on 2 CPU cores). Usage: python bench/export_overhead.py [--ticks N] [--maps-dir DIR]
"""

from __future__ import annotations

import argparse
import queue
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import carla

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runner.export.checks import SensorInfo
from runner.export.context import ContextBuilder, FrameData
from runner.export.sinks import ExportSinks
from runner.export.targets import ExportSpec
from runner.sim.process import EmbeddedServer

MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
CAMERAS = {
    "rgb": "rgb",
    "semseg": "semantic_segmentation",
    "depth": "depth",
    "instance": "instance_segmentation",
}
EXPORT = {
    "images": {"rgb": "raw", "semseg": "cityscapes", "depth": "logdepth"},
    "coco": {"camera": "rgb"},
}


class Loop:
    def __init__(self, client: carla.Client) -> None:
        world = client.load_world("Town03")
        settings = world.get_settings()
        settings.synchronous_mode, settings.fixed_delta_seconds = True, 0.05
        world.apply_settings(settings)
        library = world.get_blueprint_library()
        points = world.get_map().get_spawn_points()
        self.ego = world.spawn_actor(library.find("vehicle.tesla.model3"), points[0])
        cars = library.filter("vehicle.*")
        for i, point in enumerate(points[1:60]):
            world.try_spawn_actor(cars[i % len(cars)], point)
        self.queues: dict[str, queue.Queue[Any]] = {}
        self.sensors = []  # the client stops a sensor's callback when its object is collected
        for name, kind in CAMERAS.items():
            bp = library.find(f"sensor.camera.{kind}")
            sensor = world.spawn_actor(bp, carla.Transform(carla.Location(x=1.5, z=2.4)), self.ego)
            self.queues[name] = queue.Queue()
            sensor.listen(self.queues[name].put)
            self.sensors.append(sensor)
        self.world = world
        self.builder = ContextBuilder(world, self.ego.id)
        self.waypoint = world.get_map().get_waypoint(points[0].location)

    def tick(self) -> tuple[int, dict[str, Any]]:
        frame = self.world.tick()
        data = {name: self._take(q, frame) for name, q in self.queues.items()}
        self.waypoint = self.waypoint.next(1.5)[0]
        self.ego.set_transform(self.waypoint.transform)
        return frame, data

    @staticmethod
    def _take(q: queue.Queue[Any], frame: int) -> Any:
        while True:
            item = q.get(timeout=30)
            if item.frame == frame:
                return item

    def close(self) -> None:
        for sensor in self.sensors:
            sensor.stop()
            sensor.destroy()

    def plain(self, ticks: int) -> float:
        t0 = time.perf_counter()
        for _ in range(ticks):
            self.tick()
        return ticks / (time.perf_counter() - t0)

    def export(self, ticks: int, folder: Path) -> float:
        infos = {
            name: SensorInfo(kind, "ego", (1.5, 0.0, 2.4, 0.0, 0.0, 0.0), 800, 600, 90.0, 1, 0.0)
            for name, kind in CAMERAS.items()
        }
        t0 = time.perf_counter()
        with ExportSinks.open(folder, ExportSpec.model_validate(EXPORT), infos) as sinks:
            for _ in range(ticks):
                frame, data = self.tick()
                context = self.builder.build(frame, data)
                sinks.submit(FrameData(frame, context.sim_time_s, data, context))
        return ticks / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--maps-dir", default=str(MAPS))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="export-overhead-"))
    try:
        with EmbeddedServer(maps_dirs=[args.maps_dir]) as server:
            client = carla.Client(server.host, server.port)
            client.set_timeout(60.0)
            loop = Loop(client)
            loop.plain(10)  # warm-up: scene build, first frames
            plain, export = [], []
            for i in range(2):
                plain.append(loop.plain(args.ticks))
                export.append(loop.export(args.ticks, work / f"run{i}"))
            loop.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    p, e = sum(plain) / len(plain), sum(export) / len(export)
    print(f"plain loop:        {p:6.1f} ticks/s  {[round(v, 1) for v in plain]}")
    print(f"with COCO export:  {e:6.1f} ticks/s  {[round(v, 1) for v in export]}")
    print(f"export cost: {100 * (1 - e / p):.1f}% (target <= 15%)")


if __name__ == "__main__":
    main()
