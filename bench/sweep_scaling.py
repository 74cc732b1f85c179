"""Sweep scaling: wall time of the same 8 short variants with 1 and with N workers.

    python bench/sweep_scaling.py [--workers 1,2] [--ticks 30] [--camera 320x180|none]
                                  [--repeat 1]

Each worker count runs the whole sweep from scratch (`--force`, a fresh output
folder) as `python -m runner.sweep`, with an embedded server per variant, so every
fixed cost a real sweep pays is in the figure: worker process, server start, map
build, spawns, the tick loop, teardown. The variants are data collection in small:
an ego with an RGB and a semantic camera, 4 autopilot cars, 2 built-in maps x 4 seeds.
The baseline (1 worker) is measured in the same run; the ratio is the speed-up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = """\
{{# sweep:
  name: scaling
  seed: 1
  grid:
    map: [GridTown, CrossTown]
    seed: 1..4
#}}
name: scaling
map: {{{{ map }}}}
weather: ClearNoon
actors:
  ego: {{blueprint: vehicle.tesla.model3, spawn_point: 0, autopilot: true}}
  vehicles: {{count: 4}}
{sensors}
run: {{ticks: {ticks}, warmup_ticks: 2}}
"""
SENSORS = """\
sensors:
  front_rgb:
    type: rgb
    transform: {{x: 1.5, z: 2.4}}
    attributes: {{image_size_x: {w}, image_size_y: {h}}}
  front_semseg:
    type: semantic_segmentation
    transform: {{x: 1.5, z: 2.4}}
    attributes: {{image_size_x: {w}, image_size_y: {h}}}
export:
  images: {{front_rgb: raw, front_semseg: cityscapes}}
"""


def write_sweep(folder: Path, ticks: int, camera: str) -> Path:
    sensors = ""
    if camera != "none":
        width, height = camera.split("x")
        sensors = SENSORS.format(w=width, h=height)
    path = folder / "scaling.yaml.j2"
    path.write_text(TEMPLATE.format(sensors=sensors, ticks=ticks))
    return path


def run_sweep(path: Path, out: Path, workers: int) -> float:
    """Seconds for the whole sweep with `workers` workers (fails loudly on any failure)."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "runner.sweep", str(path), "--out", str(out)]
    command += ["--workers", str(workers), "--force"]
    t0 = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"sweep with {workers} workers failed:\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts; the first is the base")
    parser.add_argument("--ticks", type=int, default=30, help="captured ticks per variant")
    parser.add_argument("--camera", default="320x180", help="WxH of the two cameras, or none")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (best)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        folder = Path(tmp)
        path = write_sweep(folder, args.ticks, args.camera)
        run_sweep(path, folder / "warmup", 1)  # untimed: imports and file caches warm
        best: dict[int, float] = {}
        for _ in range(args.repeat):
            for workers in counts:
                elapsed = run_sweep(path, folder / f"out{workers}", workers)
                best[workers] = min(best.get(workers, elapsed), elapsed)
    base = best[counts[0]]
    print(f"8 variants, {args.ticks} ticks, cameras {args.camera}, {os.cpu_count()} CPU cores")
    for workers in counts:
        speedup = base / best[workers]
        print(f"  {workers} worker(s): {best[workers]:6.1f} s   speed-up {speedup:4.2f}x")


if __name__ == "__main__":
    main()
