"""Synchronous ticks/s on Town03 with 0, 50, 200 and 500 autopilot cars, both Traffic Managers.

Every measurement is a child process on a fresh embedded server: our TM (the server's),
or CARLA's in-client TM (`RUNNER_SIM_CLIENT_TM=1`). A child reports its tick count as it
goes; one whose count stands still for `--stall-s` is killed and reported as a hang
(carla#9172 blocks `world.tick()` forever), not left to freeze the bench. Prints each
rate and its ratio to the empty world measured in the same run (only same-run ratios
mean anything on a shared machine). Target (issue 8): 200 cars >= 200 ticks/s on 2 cores
with our TM. No cameras.

Town03 has about 265 spawn points. Beyond them cars stand on lane samples of
`Map.generate_waypoints(SPACING_M)`: driving lanes outside junctions, each at least
`CLEAR_M` along its lane (or `CLEAR_SIDE_M` across it) from every position already
taken, lifted like CARLA's spawn points; a spawn that still collides is left out and the
table says how many cars stood.
Spawning uses `apply_batch_sync(cmds, False)` and a tick, never with the tick flag set.

    python bench/server_ticks.py [--ticks 600] [--cars 0 50 200 500] [--tm server client]
                                 [--profile [cpu]]   # and the server's ms per stage
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from tm_soak import CLIENT_TM_ENV, result_of, run_watched  # noqa: E402

MAPS = ROOT.parent / "shared" / "maps"
TM_PORT = 8765
SPACING_M = 4.0
CLEAR_M = 9.0  # along the lane, centre to centre: longer than any car
CLEAR_SIDE_M = 2.5  # across it: the next lane (about 3.5 m away) is free to use
LIFT_M = 0.5
WARMUP_TICKS = 30
LABELS = {"server": "our TM", "client": "in-client TM"}
PROFILE_ENV = "RUNNER_SIM_PROFILE"


def positions(world: object, count: int) -> list[object]:
    """`count` spawn transforms: the map's spawn points, then free lane samples."""
    import carla
    import numpy as np

    assert isinstance(world, carla.World)
    road = world.get_map()
    points = road.get_spawn_points()
    random.Random(0).shuffle(points)
    if count <= len(points):
        return list(points[:count])
    chosen: list[carla.Transform] = list(points)
    xy = np.array([(p.location.x, p.location.y) for p in points])
    extra = [w for w in road.generate_waypoints(SPACING_M) if not w.is_junction]
    random.Random(1).shuffle(extra)
    for wp in extra:
        if len(chosen) >= count:
            break
        t = wp.transform
        loc, yaw = t.location, np.radians(t.rotation.yaw)
        rel = xy - (loc.x, loc.y)
        along = rel[:, 0] * np.cos(yaw) + rel[:, 1] * np.sin(yaw)
        across = -rel[:, 0] * np.sin(yaw) + rel[:, 1] * np.cos(yaw)
        if np.any((np.abs(along) < CLEAR_M) & (np.abs(across) < CLEAR_SIDE_M)):
            continue  # a car already stands in this lane (or across it) too close
        chosen.append(carla.Transform(carla.Location(loc.x, loc.y, loc.z + LIFT_M), t.rotation))
        xy = np.vstack([xy, [loc.x, loc.y]])
    return chosen


def measure(cars: int, ticks: int, maps_dir: str) -> dict[str, Any]:
    """One child: fresh server, Town03, `cars` autopilot cars, ticks timed after warm-up."""
    import carla

    from runner.sim.process import EmbeddedServer

    with EmbeddedServer(maps_dirs=[maps_dir]) as server:
        client = carla.Client(server.host, server.port)
        client.set_timeout(60.0)
        world = client.load_world("Town03")
        settings = world.get_settings()
        settings.synchronous_mode = True
        settings.fixed_delta_seconds = 0.05
        world.apply_settings(settings)
        tm = client.get_trafficmanager(TM_PORT)
        tm.set_synchronous_mode(True)
        ids: list[int] = []
        try:
            library = [
                bp
                for bp in world.get_blueprint_library().filter("vehicle.*")
                if int(bp.get_attribute("number_of_wheels")) == 4
            ]
            rng = random.Random(2)
            batch = [
                carla.command.SpawnActor(rng.choice(library), p).then(
                    carla.command.SetAutopilot(carla.command.FutureActor, True, TM_PORT)
                )
                for p in positions(world, cars)
            ]
            ids = [r.actor_id for r in client.apply_batch_sync(batch, False) if not r.error]
            for _ in range(WARMUP_TICKS):  # TM registration, first paths
                world.tick()
            print("PROGRESS 0", flush=True)
            start = time.perf_counter()
            for tick in range(1, ticks + 1):
                world.tick()
                if tick % 50 == 0:
                    print(f"PROGRESS {tick}", flush=True)
            rate = ticks / (time.perf_counter() - start)
            stages = [ln for ln in server.log_tail().splitlines() if "ms per step" in ln]
        finally:
            client.apply_batch([carla.command.DestroyActor(i) for i in ids])
            world.tick()
            tm.set_synchronous_mode(False)
            tm.shut_down()
            settings.synchronous_mode = False
            settings.fixed_delta_seconds = None
            world.apply_settings(settings)
    return {
        "cars": len(ids),
        "ticks_per_s": rate,
        "stages": stages[-1].split("steps: ", 1)[-1] if stages else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--cars", type=int, nargs="+", default=[0, 50, 200, 500])
    parser.add_argument("--tm", nargs="+", choices=sorted(LABELS), default=["server", "client"])
    parser.add_argument("--stall-s", type=float, default=30.0, help="no progress this long: hang")
    parser.add_argument("--maps-dir", default=str(MAPS))
    parser.add_argument(
        "--profile",
        nargs="?",
        const="1",
        choices=["1", "cpu"],
        help="print the server's ms per stage (RUNNER_SIM_PROFILE; cpu: thread CPU time)",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print("RESULT " + json.dumps(measure(args.child, args.ticks, args.maps_dir)), flush=True)
        return
    counts = sorted(set([0, *args.cars]))
    if args.profile:
        os.environ[PROFILE_ENV] = args.profile  # the server logs ms per stage every 100 steps
    rates: dict[tuple[str, int], float | None] = {}
    spawned: dict[tuple[str, int], int] = {}
    for kind in args.tm:
        for cars in counts:
            if cars == 0 and kind != args.tm[0]:
                continue  # the empty world has no TM: one baseline serves both
            env_on = kind == "client"
            if env_on:
                os.environ[CLIENT_TM_ENV] = "1"
            else:
                os.environ.pop(CLIENT_TM_ENV, None)
            cmd = [sys.executable, __file__, "--child", str(cars), "--ticks", str(args.ticks)]
            cmd += ["--maps-dir", args.maps_dir]
            watched = run_watched(cmd, args.stall_s, 120.0 + args.ticks)
            got = result_of(watched)
            rates[kind, cars] = None if got is None else float(got["ticks_per_s"])
            spawned[kind, cars] = 0 if got is None else int(got["cars"])
            shown = (
                f"HANG (no tick for {args.stall_s:.0f} s after tick {watched.last_progress})"
                if watched.hung
                else ("failed" if got is None else f"{got['ticks_per_s']:.1f}")
            )
            print(f"  {LABELS[kind]:>12}, {cars:>3} cars asked: {shown}", flush=True)
            if args.profile and got and got.get("stages"):
                print(f"      ms per step: {got['stages']}", flush=True)
    os.environ.pop(CLIENT_TM_ENV, None)
    os.environ.pop(PROFILE_ENV, None)
    base = rates.get((args.tm[0], 0))
    print(f"\n{'TM':>12} {'cars':>5} {'spawned':>7} {'ticks/s':>8} {'ratio':>6}")
    for (kind, cars), rate in rates.items():
        label = "none" if cars == 0 else LABELS[kind]
        if rate is None:
            print(f"{label:>12} {cars:>5} {spawned[kind, cars]:>7} {'hang':>8} {'-':>6}")
            continue
        ratio = f"{rate / base:.2f}" if base else "-"
        print(f"{label:>12} {cars:>5} {spawned[kind, cars]:>7} {rate:>8.1f} {ratio:>6}")
    ours = rates.get(("server", 200))
    if ours is not None:
        verdict = "met" if ours >= 200 else "NOT met"
        print(f"target: 200 cars >= 200 ticks/s with our TM -> {verdict} ({ours:.0f})")


if __name__ == "__main__":
    main()
