"""End-to-end: `scenario run` with the COCO export on against the same scenario without it.

The same scenario (Town03, 30 autopilot cars, RGB + semantic + depth cameras at 800x600
on the ego, 60 ticks) is run through the runner (`run_plan`, what `scenario run` calls)
with and without its `export:` block, alternating (the order flips each round), against
one embedded server, so map load and start-up are not counted twice. Each run's rate is
ticks / (the tick loop's wall time + the time to drain and close the exports, so frames
still queued when the loop ends are counted), from its manifest. The export run also
carries COCO's implicit instance camera, as a user's would. The cost is
1 - export rate / plain rate (target <= 15% on 2 CPU cores).
Usage: python bench/run_export_overhead.py [--ticks N] [--rounds N] [--maps-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runner.compile import compile_plan
from runner.execute import run_plan
from runner.load import load_scenario
from runner.sim.process import EmbeddedServer

MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
CAMERA = (
    "    transform: {{x: 1.5, z: 2.4}}\n    attributes: {{image_size_x: 800, image_size_y: 600}}\n"
)
SCENARIO = (
    "name: {name}\nmap: Town03\nseed: 3\n"
    "actors:\n  ego: {{blueprint: vehicle.tesla.model3, spawn_point: 0}}\n"
    "  vehicles: {{count: 30}}\n"
    "sensors:\n"
    "  rgb:\n    type: rgb\n"
    + CAMERA
    + "  semseg:\n    type: semantic_segmentation\n"
    + CAMERA
    + "  depth:\n    type: depth\n"
    + CAMERA
    + "run: {{ticks: {ticks}, warmup_ticks: 5}}\n"
)
EXPORT = (
    "export:\n"
    "  images: {rgb: raw, semseg: cityscapes, depth: logdepth}\n"
    "  coco: {camera: rgb, implicit_instance_camera: true}\n"
)


def loop_rate(manifest_path: Path) -> float:
    data = json.loads(manifest_path.read_text())
    if data["status"] != "ok":
        raise SystemExit(f"run failed: {data['error']}")
    timings = data["timings_s"]
    return float(data["ticks_done"]) / (timings["loop"] + timings.get("CloseExports", 0.0))


def one_run(server: EmbeddedServer, folder: Path, ticks: int, export: bool) -> float:
    name = "with_export" if export else "plain"
    path = folder / f"{name}.yaml"
    path.write_text(SCENARIO.format(name=name, ticks=ticks) + (EXPORT if export else ""))
    plan = compile_plan(load_scenario(path), source=path)
    result = run_plan(plan, host=server.host, port=server.port, out_dir=folder / "out")
    return loop_rate(result.manifest_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--maps-dir", default=str(MAPS))
    args = parser.parse_args()
    plain: list[float] = []
    export: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(maps_dirs=[args.maps_dir]) as server:
        one_run(server, Path(tmp), 10, export=False)  # warm-up: map, scene, GL context
        for round_ in range(args.rounds):
            for export_on in (False, True) if round_ % 2 == 0 else (True, False):
                rate = one_run(server, Path(tmp), args.ticks, export=export_on)
                (export if export_on else plain).append(rate)
    p, e = statistics.median(plain), statistics.median(export)
    print(f"scenario run without export: {p:6.1f} ticks/s  {[round(x, 1) for x in plain]}")
    print(f"scenario run with COCO etc.: {e:6.1f} ticks/s  {[round(x, 1) for x in export]}")
    print(f"export cost: {100 * (1 - e / p):.1f}% (target <= 15% on 2 CPU cores)")


if __name__ == "__main__":
    main()
