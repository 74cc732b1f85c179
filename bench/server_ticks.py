"""Synchronous ticks/s of the embedded server on Town03 with 0, 50 and 100 autopilot vehicles.

Prints each rate and its ratio to the empty world measured in the same run (machines
are noisy; only same-run ratios mean anything). Target (issue 2): 50 vehicles at
>= 60 ticks/s on 2 cores. No cameras. Usage: python bench/server_ticks.py [--ticks N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import carla

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runner.sim.process import EmbeddedServer

MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
TM_PORT = 8765


def spawn_autopilot(client: carla.Client, world: carla.World, count: int) -> list[int]:
    library = world.get_blueprint_library().filter("vehicle.*")
    points = world.get_map().get_spawn_points()
    random.Random(0).shuffle(points)
    rng = random.Random(1)
    batch = [
        carla.command.SpawnActor(rng.choice(library), point).then(
            carla.command.SetAutopilot(carla.command.FutureActor, True, TM_PORT)
        )
        for point in points[:count]
    ]
    return [r.actor_id for r in client.apply_batch_sync(batch, True) if not r.error]


def measure(client: carla.Client, count: int, ticks: int) -> float:
    world = client.reload_world(False)
    ids = spawn_autopilot(client, world, count)
    for _ in range(30):  # warm-up: TM registration, first routes
        world.tick()
    start = time.perf_counter()
    for _ in range(ticks):
        world.tick()
    rate = ticks / (time.perf_counter() - start)
    client.apply_batch_sync([carla.command.DestroyActor(i) for i in ids], True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--maps-dir", default=str(MAPS))
    args = parser.parse_args()
    with EmbeddedServer(maps_dirs=[args.maps_dir]) as server:
        client = carla.Client(server.host, server.port)
        client.set_timeout(60.0)
        world = client.load_world("Town03")
        settings = world.get_settings()
        settings.synchronous_mode = True
        settings.fixed_delta_seconds = 0.05
        world.apply_settings(settings)
        tm = client.get_trafficmanager(TM_PORT)
        tm.set_synchronous_mode(True)
        rates = {n: measure(client, n, args.ticks) for n in (0, 50, 100)}
        settings.synchronous_mode = False
        settings.fixed_delta_seconds = None
        client.get_world().apply_settings(settings)
        tm.set_synchronous_mode(False)
        tm.shut_down()
    base = rates[0]
    print(f"{'vehicles':>8} {'ticks/s':>9} {'ratio':>6}")
    for n, rate in rates.items():
        print(f"{n:>8} {rate:>9.1f} {rate / base:>6.2f}")
    print(f"target: 50 vehicles >= 60 ticks/s -> {'met' if rates[50] >= 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
