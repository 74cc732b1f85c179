"""Dataset export throughput: the seed tutorial's pipeline vs ours, on the same frames.

Frames (RGB + semantic + depth + instance, 800x600, cameras on an ego driven along
Town03 waypoints past parked cars and a fountain, as the seed does) are captured once
from the embedded server and kept in memory; then, in the same run:

  seed  (one thread, as the tutorial): save_to_disk RGB / CityScapes / LogarithmicDepth
        with the client's converters, read the PNGs back (5 reads, as the tutorial),
        HSV masks for its 8 classes (cv2.inRange), connected components and their boxes
        (cv2.connectedComponentsWithStats: faster than the tutorial's skimage
        label + regionprops, so the ratio is conservative), one full-image mask copy and
        pycocotools RLE per box.
  ours  ExportSinks: RGB, CityScapes, log depth and the instance image as PNG, COCO
        from instance ids (exact per-object masks, boxes, 3-D fields), frames.jsonl;
        plus the time the tick loop spends building each frame's context.

Prints frames/s of both and the ratio (target >= 10x on 2 cores), then PNG/JPEG
encoders on the same RGB frames against Pillow (time per frame and how much a Python
thread keeps running while another thread encodes: 1.0 = the encoder releases the GIL).
Usage: python bench/export_throughput.py [--frames N] [--maps-dir DIR]
"""

from __future__ import annotations

import argparse
import io
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import carla
import cv2
import numpy as np
from pycocotools import mask as mask_utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runner.export.checks import SensorInfo
from runner.export.context import ContextBuilder, FrameData
from runner.export.images import PNG_PARAMS, pixels
from runner.export.sinks import ExportSinks
from runner.export.targets import ExportSpec
from runner.sim.process import EmbeddedServer

MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
W, H = 800, 600
CAMERAS = {
    "rgb": "rgb",
    "semseg": "semantic_segmentation",
    "depth": "depth",
    "instance": "instance_segmentation",
}
SEED_CLASSES = {  # the tutorial's object_list (RGB)
    "building": (70, 70, 70),
    "pedestrian": (220, 20, 60),
    "vegetation": (107, 142, 35),
    "car": (0, 0, 142),
    "fence": (190, 153, 153),
    "traffic_sign": (220, 220, 0),
    "pole": (153, 153, 153),
    "wall": (102, 102, 156),
}
EXPORT = {
    "images": {"rgb": "raw", "semseg": "cityscapes", "depth": "logdepth", "instance": "raw"},
    "coco": {"camera": "rgb", "classes": ["car", "truck", "pedestrian", "traffic sign", "static"]},
}


def capture(client: carla.Client, count: int) -> tuple[list[FrameData], float]:
    """`count` frames of the four cameras; returns them and the context-building seconds."""
    world = client.load_world("Town03")
    settings = world.get_settings()
    settings.synchronous_mode, settings.fixed_delta_seconds = True, 0.05
    world.apply_settings(settings)
    library = world.get_blueprint_library()
    points = world.get_map().get_spawn_points()
    ego = world.spawn_actor(library.find("vehicle.tesla.model3"), points[0])
    cars = library.filter("vehicle.*")
    for i, point in enumerate(points[1:60]):
        world.try_spawn_actor(cars[i % len(cars)], point)
    fountain = carla.Transform(points[0].location + points[0].get_forward_vector() * 30.0)
    world.try_spawn_actor(library.find("static.prop.fountain"), fountain)
    queues: dict[str, queue.Queue[Any]] = {}
    sensors = []
    for name, kind in CAMERAS.items():
        bp = library.find(f"sensor.camera.{kind}")
        sensor = world.spawn_actor(bp, carla.Transform(carla.Location(x=1.5, z=2.4)), ego)
        queues[name] = queue.Queue()
        sensor.listen(queues[name].put)
        sensors.append(sensor)
    builder = ContextBuilder(world, ego.id)
    waypoint = world.get_map().get_waypoint(points[0].location)
    frames, context_s = [], 0.0
    for _ in range(count + 2):
        frame = world.tick()
        data = {name: _take(q, frame) for name, q in queues.items()}
        t0 = time.perf_counter()
        context = builder.build(frame, data)
        context_s += time.perf_counter() - t0
        frames.append(FrameData(frame, context.sim_time_s, data, context))
        waypoint = waypoint.next(1.5)[0]
        ego.set_transform(waypoint.transform)
    for sensor in sensors:
        sensor.stop()
    return frames[2:], context_s * count / (count + 2)


def _take(q: queue.Queue[Any], frame: int) -> Any:
    while True:
        item = q.get(timeout=30)
        if item.frame == frame:
            return item


def seed_pipeline(frames: list[FrameData], folder: Path) -> float:
    """The tutorial's per-frame work; returns seconds."""
    hsv_values = {
        name: cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2HSV)[0, 0]
        for name, rgb in SEED_CLASSES.items()
    }
    t0 = time.perf_counter()
    for fd in frames:
        rgb, seg, depth = fd.data["rgb"], fd.data["semseg"], fd.data["depth"]
        paths = [str(folder / f"{rgb.frame:06d}{s}.png") for s in ("", "_semseg", "_depth")]
        rgb.save_to_disk(paths[0])
        seg.save_to_disk(paths[1], carla.ColorConverter.CityScapesPalette)
        depth.save_to_disk(paths[2], carla.ColorConverter.LogarithmicDepth)
        for path in paths:  # mpimg.imread of the three images
            cv2.imread(path)
        cv2.imread(paths[0])  # for its height and width
        bgr = cv2.cvtColor(cv2.imread(paths[1]), cv2.COLOR_BGRA2BGR)
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        for value in hsv_values.values():
            h, s, v = (int(c) for c in value)
            mask = cv2.inRange(hsv, np.array([h - 5, s, v - 5]), np.array([h + 5, s, v + 5]))
            count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            for x, y, w, hh, _area in stats[1:count]:
                obj = mask.copy()
                obj[:y], obj[:, :x], obj[y + hh :], obj[:, x + w :] = 0, 0, 0, 0
                mask_utils.encode(np.asfortranarray(obj))
    return time.perf_counter() - t0


def our_pipeline(frames: list[FrameData], folder: Path) -> tuple[float, dict[str, Any]]:
    infos = {
        name: SensorInfo(kind, "ego", (1.5, 0.0, 2.4, 0.0, 0.0, 0.0), W, H, 90.0, 1, 0.0)
        for name, kind in CAMERAS.items()
    }
    t0 = time.perf_counter()
    with ExportSinks.open(folder, ExportSpec.model_validate(EXPORT), infos) as sinks:
        for fd in frames:
            sinks.submit(fd)
    return time.perf_counter() - t0, {
        "targets": sinks.summary.targets,
        "classes": sinks.summary.classes,
    }


def _pil_png(rgb: np.ndarray, level: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG", compress_level=level)
    return out.getvalue()


def _pil_jpeg(rgb: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=90)
    return out.getvalue()


def encoders() -> dict[str, Callable[[np.ndarray, np.ndarray], bytes]]:
    """name -> encode(rgb, bgr); only those installed."""
    found: dict[str, Callable[[np.ndarray, np.ndarray], bytes]] = {
        "PNG  Pillow level 6 (default)": lambda rgb, bgr: _pil_png(rgb, 6),
        "PNG  Pillow level 1": lambda rgb, bgr: _pil_png(rgb, 1),
        "PNG  OpenCV level 1 (adaptive filters)": lambda rgb, bgr: cv2.imencode(
            ".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1]
        )[1].tobytes(),
        "PNG  OpenCV level 1 RLE+SUB (ours)": lambda rgb, bgr: cv2.imencode(
            ".png", bgr, PNG_PARAMS
        )[1].tobytes(),
        "JPEG Pillow q90": lambda rgb, bgr: _pil_jpeg(rgb),
        "JPEG OpenCV q90 (ours)": lambda rgb, bgr: cv2.imencode(
            ".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90]
        )[1].tobytes(),
    }
    try:
        import fpng.fpng_ext

        found["PNG  fpng"] = lambda rgb, bgr: bytes(fpng.fpng_ext.encode_ndarray(rgb))
    except ImportError:
        print("(fpng not installed: pip install fpng)")
    try:
        import imagecodecs

        found["PNG  imagecodecs level 1"] = lambda rgb, bgr: bytes(
            imagecodecs.png_encode(rgb, level=1)
        )
        found["JPEG imagecodecs q90"] = lambda rgb, bgr: bytes(
            imagecodecs.jpeg8_encode(rgb, level=90)
        )
    except ImportError:
        print("(imagecodecs not installed)")
    try:
        import simplejpeg

        found["JPEG simplejpeg q90"] = lambda rgb, bgr: bytes(simplejpeg.encode_jpeg(rgb, 90))
    except ImportError:
        print("(simplejpeg not installed)")
    return found


def _spin(seconds: float) -> int:
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
    return n


def compare_encoders(frames: list[FrameData]) -> None:
    images = []
    for fd in frames[:10]:
        bgra = pixels(fd.data["rgb"].raw_data, W, H)
        images.append((np.ascontiguousarray(bgra[..., 2::-1]), np.ascontiguousarray(bgra[..., :3])))
    baseline = _spin(0.5)
    print(
        f"\n{'encoder (RGB 800x600)':40s} {'ms/frame':>9s} {'kB':>6s}"
        f" {'vs Pillow':>9s} {'GIL free':>8s}"
    )
    pillow_ms = {"PNG": 0.0, "JPEG": 0.0}
    for name, encode in encoders().items():
        encode(*images[0])
        t0 = time.perf_counter()
        sizes = [len(encode(rgb, bgr)) for rgb, bgr in images * 2]
        ms = (time.perf_counter() - t0) / len(sizes) * 1000
        kind = name.split()[0]
        if "Pillow" in name and (kind == "JPEG" or "level 1" in name):
            pillow_ms[kind] = ms
        stop = threading.Event()

        def loop(
            encode: Callable[[np.ndarray, np.ndarray], bytes] = encode,
            stop: threading.Event = stop,
        ) -> None:
            while not stop.is_set():
                encode(*images[0])

        worker = threading.Thread(target=loop)
        worker.start()
        free = _spin(0.5) / baseline
        stop.set()
        worker.join()
        speed = pillow_ms[kind] / ms if pillow_ms[kind] else 1.0
        print(f"{name:40s} {ms:9.2f} {np.mean(sizes) / 1e3:6.0f} {speed:8.1f}x {free:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--maps-dir", default=str(MAPS))
    args = parser.parse_args()
    with EmbeddedServer(maps_dirs=[args.maps_dir]) as server:
        client = carla.Client(server.host, server.port)
        client.set_timeout(60.0)
        frames, context_s = capture(client, args.frames)
        work = Path(tempfile.mkdtemp(prefix="export-bench-"))
        try:
            (work / "seed").mkdir()
            seed_s = seed_pipeline(frames, work / "seed")
            ours_s, summary = our_pipeline(frames, work / "ours")
            ours_s += context_s
        finally:
            shutil.rmtree(work, ignore_errors=True)
        compare_encoders(frames)
    n = len(frames)
    print(f"\n{n} frames of RGB + semantic + depth + instance at {W}x{H}")
    print(f"seed tutorial pipeline: {n / seed_s:7.1f} frames/s ({seed_s / n * 1000:.1f} ms/frame)")
    print(
        f"ours (4 PNGs + COCO):   {n / ours_s:7.1f} frames/s ({ours_s / n * 1000:.1f} ms/frame,"
        f" of which {context_s / n * 1000:.1f} ms frame context)"
    )
    print(f"annotations per class: {summary['classes']}")
    print(f"ratio: {seed_s / ours_s:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
