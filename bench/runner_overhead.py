"""The runner's time per tick against a bare carla client loop doing the same work.

Both run against one embedded server in the same process run, alternating
(runner, bare, runner, bare, ...), so machine noise hits both alike; the best
repetition of each is compared. The work: synchronous ticks at 0.05 s with an
autopilot ego and a few vehicles, an RGB and a depth camera and a GNSS, every
frame matched by frame number and written as PNG (RGB raw, depth logdepth).
The bare loop is the seed tutorial's loop done right: tick, read each queue up to
the ticked frame, convert with numpy, save with Pillow, all in the main thread.

Target (issue 7): overhead <= 10%.
Usage: python bench/runner_overhead.py [--ticks N] [--repeats N] [--size WxH]
"""

from __future__ import annotations

import argparse
import queue
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import carla
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runner.compile import compile_plan
from runner.execute import run_plan
from runner.load import load_scenario
from runner.sim.process import EmbeddedServer

SCENARIO = """\
name: overhead
map: GridTown
seed: 11
actors:
  ego: {{blueprint: vehicle.tesla.model3, spawn_point: 0, autopilot: true}}
  vehicles: {{count: 3}}
sensors:
  front:
    type: rgb
    transform: {{x: 1.5, z: 2.4}}
    attributes: {{image_size_x: {w}, image_size_y: {h}}}
  depth:
    type: depth
    transform: {{x: 1.5, z: 2.4}}
    attributes: {{image_size_x: {w}, image_size_y: {h}}}
  gnss: {{type: gnss}}
run: {{ticks: {ticks}, warmup_ticks: {warmup}}}
export:
  images: {{front: raw, depth: logdepth}}
"""
WARMUP_TICKS = 5
TM_PORT = 8777


def runner_per_tick(server: EmbeddedServer, scenario: Path, out: Path) -> float:
    """Seconds per tick of run_plan's tick loop (including draining the image writers)."""
    plan = compile_plan(load_scenario(scenario), source=scenario)
    result = run_plan(plan, host=server.host, port=server.port, out_dir=out)
    return result.record.timings_s["loop"] / result.record.ticks_done


def _spawn_bare(world: Any, size: tuple[int, int]) -> list[Any]:
    library = world.get_blueprint_library()
    points = world.get_map().get_spawn_points()
    ego = world.spawn_actor(library.find("vehicle.tesla.model3"), points[0])
    ego.set_autopilot(True, TM_PORT)
    others = [world.spawn_actor(library.find("vehicle.audi.tt"), p) for p in points[1:4]]
    for vehicle in others:
        vehicle.set_autopilot(True, TM_PORT)
    sensors = []
    for kind in ("camera.rgb", "camera.depth", "other.gnss"):
        bp = library.find(f"sensor.{kind}")
        if kind.startswith("camera"):
            bp.set_attribute("image_size_x", str(size[0]))
            bp.set_attribute("image_size_y", str(size[1]))
        pose = carla.Transform(carla.Location(x=1.5, z=2.4))
        sensors.append(world.spawn_actor(bp, pose, attach_to=ego))
    return [ego, *others, *sensors]


def _take(q: queue.Queue[Any], frame: int) -> Any:
    while (item := q.get(timeout=10.0)).frame < frame:
        pass
    return item


def _save(image: Any, path: Path, log_depth: bool) -> None:
    bgra = np.frombuffer(image.raw_data, np.uint8).reshape(image.height, image.width, 4)
    if log_depth:
        b, g, r = (bgra[..., i].astype(np.float32) for i in range(3))
        with np.errstate(divide="ignore"):
            log = 1 + np.log((r + g * 256 + b * 65536) / 16777215) / 5.70378
        gray = (np.clip(log, 0.005, 1) * 255 + 0.5).astype(np.uint8)
        Image.fromarray(gray).save(path, compress_level=1)
    else:
        Image.fromarray(bgra[..., 2::-1]).save(path, compress_level=1)


def bare_per_tick(server: EmbeddedServer, ticks: int, size: tuple[int, int], out: Path) -> float:
    """Seconds per tick of a hand-written loop doing the runner's work."""
    client = carla.Client(server.host, server.port)
    client.set_timeout(30.0)
    world = client.get_world()
    original = world.get_settings()
    settings = world.get_settings()
    settings.synchronous_mode, settings.fixed_delta_seconds = True, 0.05
    world.apply_settings(settings)
    tm = client.get_trafficmanager(TM_PORT)
    tm.set_synchronous_mode(True)
    actors = _spawn_bare(world, size)
    queues: list[queue.Queue[Any]] = [queue.Queue() for _ in range(3)]
    for sensor, q in zip(actors[-3:], queues, strict=True):
        sensor.listen(q.put)
    out.mkdir(parents=True)
    try:
        for _ in range(WARMUP_TICKS):  # like the runner: warm-up frames are not awaited
            world.tick()
        start = time.perf_counter()
        for _ in range(ticks):
            frame = world.tick()
            rgb, depth, _gnss = (_take(q, frame) for q in queues)
            _save(rgb, out / f"rgb_{frame:08d}.png", log_depth=False)
            _save(depth, out / f"depth_{frame:08d}.png", log_depth=True)
        return (time.perf_counter() - start) / ticks
    finally:
        for sensor in actors[-3:]:
            sensor.stop()
        client.apply_batch_sync([carla.command.DestroyActor(a.id) for a in reversed(actors)])
        world.apply_settings(original)
        tm.set_synchronous_mode(False)
        tm.shut_down()


@contextmanager
def _server(shared: EmbeddedServer | None) -> Iterator[EmbeddedServer]:
    if shared is not None:
        yield shared
        return
    with EmbeddedServer() as server:
        yield server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", default="320x240", help="camera WxH")
    parser.add_argument(
        "--fresh-server",
        action="store_true",
        help="a new embedded server per measurement (instead of one for all)",
    )
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        scenario = Path(tmp) / "overhead.yaml"
        scenario.write_text(SCENARIO.format(w=w, h=h, ticks=args.ticks, warmup=WARMUP_TICKS))
        shared = None if args.fresh_server else stack.enter_context(EmbeddedServer())
        runner, bare = [], []
        with _server(shared) as server:  # untimed: the first frames start the renderer
            runner_per_tick(server, scenario, Path(tmp) / "warmup")
        for i in range(args.repeats):
            with _server(shared) as server:
                runner.append(runner_per_tick(server, scenario, Path(tmp) / f"runner{i}"))
            with _server(shared) as server:
                bare.append(bare_per_tick(server, args.ticks, (w, h), Path(tmp) / f"bare{i}"))
            print(f"repeat {i}: runner {runner[-1] * 1e3:.2f} ms/tick, bare {bare[-1] * 1e3:.2f}")
    best_runner, best_bare = min(runner), min(bare)
    overhead = best_runner / best_bare - 1.0
    print(f"runner {best_runner * 1e3:.2f} ms/tick  bare client loop {best_bare * 1e3:.2f} ms/tick")
    verdict = "ok" if overhead <= 0.10 else "OVER TARGET"
    print(f"runner overhead {overhead * 100:+.1f}% (target <= +10%): {verdict}")


if __name__ == "__main__":
    main()
