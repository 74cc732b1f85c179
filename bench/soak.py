"""Soak: many short runs back to back on one embedded server, faults injected.

Each run is `python -m runner run` (a separate process, as users run it) with a random
rig (1-3 cameras sharing a pose, sometimes LiDAR, GNSS, IMU, collision), random
Traffic Manager traffic and map, and one fault: none, an exception at a random tick,
SIGINT or SIGTERM at a random moment, or a tick that never returns (the watchdog); or,
instead of the runner, a plain script tearing its rig down in one of the orders of
tests/test_teardown_orders.py.
After every run a fresh client checks the server: no vehicle, sensor or prop left,
asynchronous mode. The server's memory is read from /proc after a warm-up.

Prints one line per run, then a JSON summary: runs, hangs, leaked actors, server RSS
growth. Target (issue 9): 200 runs, 0 hangs, 0 leaked actors, growth < 50 MB.
The baseline is taken after the warm-up: the first loads of each map and sensor type
fill caches (renderer, scene, lane graph) that then stay flat (alternating two maps with
a camera plateaus after about six loads).
Usage: python bench/soak.py [--runs 200] [--seed 0] [--warmup-runs 10] [--maps A,B]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import carla

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from runner.sim.process import EmbeddedServer  # noqa: E402
from tests.test_teardown_orders import SAFE_ORDERS  # noqa: E402

RUN_TIMEOUT_S = 120.0
RUN_KINDS = ("vehicle", "sensor", "static")
FAULTS = ("none", "exception", "sigint", "sigterm", "stall", "teardown")
TEARDOWN_ORDERS = (*SAFE_ORDERS, "parent_first")
"""A "teardown" run is a plain CARLA script instead of the runner: one of the
teardown orders of tests/test_teardown_orders.py, against the same server."""


@dataclass(frozen=True)
class Outcome:
    """What one run did and left."""

    map_name: str
    fault: str
    returncode: int | None
    hung: bool
    leaked: list[str]
    synchronous_after: bool
    seconds: float


def scenario_text(rng: random.Random, index: int, maps: list[str]) -> str:
    """A small scenario with a random rig, traffic and map."""
    size = rng.choice(((64, 48), (96, 64), (160, 120)))
    cameras = rng.sample(["rgb", "depth", "semantic_segmentation", "instance_segmentation"], 3)
    sensors = [
        f"  cam_{kind}:\n    type: {kind}\n    transform: {{x: 1.5, z: 2.4}}\n"
        f"    attributes: {{image_size_x: {size[0]}, image_size_y: {size[1]}}}\n"
        for kind in cameras[: rng.randint(1, 3)]
    ]
    extra = ["lidar", "gnss", "imu", "collision"]
    for kind in rng.sample(extra, rng.randint(0, len(extra))):
        attributes = (
            "    attributes: {channels: 8, points_per_second: 8000}\n" if kind == "lidar" else ""
        )
        sensors.append(f"  {kind}:\n    type: {kind}\n{attributes}")
    exports = {name.split(":")[0].strip() for name in sensors if "cam_" in name}
    images = ", ".join(f"{name}: raw" for name in sorted(exports) if "rgb" in name)
    return (
        f"name: soak{index}\nmap: {rng.choice(maps)}\nseed: {index}\n"
        f"actors:\n  ego: {{blueprint: vehicle.tesla.model3, spawn_point: random}}\n"
        f"  vehicles: {{count: {rng.randint(0, 15)}}}\n"
        f"sensors:\n{''.join(sensors)}"
        f"run: {{ticks: {rng.randint(20, 60)}, warmup_ticks: 2}}\n"
        + (f"export:\n  images: {{{images}}}\n" if images else "")
    )


def leftovers(world: Any) -> list[str]:
    return sorted(a.type_id for a in world.get_actors() if a.type_id.split(".")[0] in RUN_KINDS)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def one_run(
    server: EmbeddedServer, rng: random.Random, index: int, out: Path, maps: list[str]
) -> Outcome:
    path = out / f"soak{index}.yaml"
    path.write_text(scenario_text(rng, index, maps))
    fault = rng.choice(FAULTS)
    env = dict(os.environ)
    if fault == "exception":
        env["RUNNER_FAULT_AT_TICK"] = str(rng.randint(0, 19))
    if fault == "stall":
        env["RUNNER_FAULT_BLOCK_TICK"] = str(rng.randint(3, 20))
        env["RUNNER_TICK_DEADLINE_S"] = "2"
    command = [sys.executable, "-m", "runner", "run", str(path), "--out", str(out / "runs")]
    command += ["--host", server.host, "--port", str(server.port)]
    if fault == "teardown":
        order = rng.choice(TEARDOWN_ORDERS)
        command = [sys.executable, "-m", "tests.test_teardown_orders", order, str(server.port)]
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if fault in ("sigint", "sigterm"):
        time.sleep(rng.uniform(0.3, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGINT if fault == "sigint" else signal.SIGTERM)
    hung = False
    try:
        process.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        hung = True
        process.kill()
        process.wait()
    seconds = time.monotonic() - started
    client = carla.Client(server.host, server.port)
    client.set_timeout(20.0)
    world = client.get_world()
    leaked = leftovers(world)
    synchronous = bool(world.get_settings().synchronous_mode)
    map_name = world.get_map().name.rsplit("/", 1)[-1]  # what the server holds now
    if leaked:  # keep soaking on a clean world; the leak is counted
        client.apply_batch_sync(
            [
                carla.command.DestroyActor(a.id)
                for a in world.get_actors()
                if a.type_id.split(".")[0] in RUN_KINDS
            ],
            False,
        )
    return Outcome(map_name, fault, process.returncode, hung, leaked, synchronous, seconds)


def growth_mb(outcomes: list[Outcome], rss: list[float], warmup: int) -> float | None:
    """RSS growth from the first to the last window of runs, compared map by map.

    The server's RSS depends on which map it holds (GridTown's scene is bigger), so a
    difference of two single readings swings by the maps' difference; the median RSS
    after runs that left the server on the same map, early (the 20 runs after the
    warm-up) against late (the last 20), does not. The largest change over the maps is
    reported (negative: it shrank); None when no map is in both windows.
    """
    early = range(warmup, min(len(rss), warmup + 20))
    late = range(max(warmup, len(rss) - 20), len(rss))
    changes = []
    for name in {o.map_name for o in outcomes}:
        before = [rss[i] for i in early if outcomes[i].map_name == name]
        after = [rss[i] for i in late if outcomes[i].map_name == name]
        if before and after:
            changes.append(statistics.median(after) - statistics.median(before))
    return round(max(changes), 1) if changes else None


def describe(index: int, o: Outcome, rss: float) -> str:
    return (
        f"run {index:4d} {o.map_name:9s} {o.fault:9s} rc={o.returncode} {o.seconds:5.1f} s"
        f" hung={o.hung} leaked={len(o.leaked)} sync={o.synchronous_after} rss={rss:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--warmup-runs", type=int, default=10, help="runs before the memory baseline"
    )
    parser.add_argument("--maps", default="GridTown,CrossTown", help="comma-separated")
    parser.add_argument("--maps-dir", default=str(ROOT.parent / "shared" / "maps"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: list[Outcome] = []
    rss: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(maps_dirs=[args.maps_dir]) as server:
        out = Path(tmp)
        for index in range(args.runs):
            outcome = one_run(server, rng, index, out, args.maps.split(","))
            outcomes.append(outcome)
            rss.append(rss_mb(server.pid))
            print(describe(index, outcome, rss[-1]), flush=True)
    summary = {
        "runs": len(outcomes),
        "hangs": sum(o.hung for o in outcomes),
        "leaked_actors": sum(len(o.leaked) for o in outcomes),
        "left_synchronous": sum(o.synchronous_after for o in outcomes),
        "faults": {f: sum(o.fault == f for o in outcomes) for f in FAULTS},
        "server_rss_growth_mb": growth_mb(outcomes, rss, args.warmup_runs),
        "server_rss_mb": {"first": round(rss[0], 1), "last": round(rss[-1], 1)},
        "target": "0 hangs, 0 leaked actors, growth < 50 MB",
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
