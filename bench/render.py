"""Synchronous ticks/s on Town03 with RGB + depth + semantic cameras (800x600) on the ego
and 30 autopilot vehicles, as a ratio to the same run without cameras (same server, same
traffic, measured in the same run). Targets (issue 3): >= 10 ticks/s on 2 CPU cores;
>= 100 ticks/s on a GPU. Usage: python bench/render.py [--ticks N] [--maps-dir DIR]
"""

from __future__ import annotations

import argparse
import queue
import random
import sys
import time
from pathlib import Path

import carla

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runner.sim.process import EmbeddedServer

MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
TM_PORT = 8766
CAMERAS = ("rgb", "depth", "semantic_segmentation")


def setup(client: carla.Client) -> tuple[carla.World, carla.Vehicle, list[int]]:
    world = client.load_world("Town03")
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    client.get_trafficmanager(TM_PORT).set_synchronous_mode(True)
    library = world.get_blueprint_library()
    points = world.get_map().get_spawn_points()
    random.Random(0).shuffle(points)
    ego = world.spawn_actor(library.find("vehicle.tesla.model3"), points[0])
    ego.set_autopilot(True, TM_PORT)
    rng = random.Random(1)
    batch = [
        carla.command.SpawnActor(rng.choice(library.filter("vehicle.*")), p).then(
            carla.command.SetAutopilot(carla.command.FutureActor, True, TM_PORT)
        )
        for p in points[1:31]
    ]
    ids = [r.actor_id for r in client.apply_batch_sync(batch, False) if not r.error]
    world.tick()
    return world, ego, ids


def attach_cameras(
    world: carla.World, ego: carla.Vehicle
) -> list[tuple[carla.Sensor, queue.Queue]]:
    rig = []
    pose = carla.Transform(carla.Location(x=1.5, z=2.4))
    for kind in CAMERAS:
        bp = world.get_blueprint_library().find(f"sensor.camera.{kind}")
        camera = world.spawn_actor(bp, pose, attach_to=ego)
        q: queue.Queue = queue.Queue()
        camera.listen(q.put)
        rig.append((camera, q))
    return rig


def run_ticks(world: carla.World, ticks: int, rig: list[tuple[carla.Sensor, queue.Queue]]) -> float:
    start = time.perf_counter()
    for _ in range(ticks):
        frame = world.tick()
        for _camera, q in rig:  # consume each camera's frame, as a data-collection run does
            image = q.get(timeout=60)
            while image.frame < frame:
                image = q.get(timeout=60)
    return ticks / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--maps-dir", default=str(MAPS))
    parser.add_argument("--server-log", type=Path, default=None)
    args = parser.parse_args()
    with EmbeddedServer(maps_dirs=[args.maps_dir], log_path=args.server_log) as server:
        client = carla.Client(server.host, server.port)
        client.set_timeout(120.0)
        world, ego, ids = setup(client)
        run_ticks(world, 20, [])  # warm-up: Traffic Manager routes
        without = run_ticks(world, args.ticks, [])
        rig = attach_cameras(world, ego)
        run_ticks(world, 5, rig)  # warm-up: scene build, GL context
        with_cameras = run_ticks(world, args.ticks, rig)
        for camera, _ in rig:
            camera.stop()
        client.apply_batch_sync(
            [carla.command.DestroyActor(i) for i in [c.id for c, _ in rig] + ids + [ego.id]]
        )
        settings = world.get_settings()
        settings.synchronous_mode = False
        settings.fixed_delta_seconds = None
        world.apply_settings(settings)
        tm = client.get_trafficmanager(TM_PORT)
        tm.set_synchronous_mode(False)
        tm.shut_down()
        renderer = server.log_tail()
    print(f"no cameras:                 {without:8.1f} ticks/s")
    ratio = with_cameras / without
    print(f"RGB+depth+semantic 800x600: {with_cameras:8.1f} ticks/s  ratio {ratio:.3f}")
    for line in renderer.splitlines():
        if "renderer on" in line or "ms per step" in line:
            print(line)


if __name__ == "__main__":
    main()
