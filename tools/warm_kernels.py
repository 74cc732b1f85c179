"""Compile the simulator's numba kernels once, at setup, instead of in a user's first tick.

The Traffic Manager, vehicle physics, road state and contacts run as numba kernels
cached next to their sources (`__pycache__/*.nbi`). Compiling them all takes several
seconds on a small machine; without this the first autopilot tick of the first run after
a fresh clone would stall that long. A short synchronous run on the built-in town (no
map files needed) with a few autopilot cars, two of them touching, calls every kernel.
Later runs load the cache in a fraction of a second. Safe to run again.

    python tools/warm_kernels.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CARS = 12
TICKS = 40
TM_PORT = 8123


def warm() -> float:
    """One short run; returns its wall time in seconds."""
    import carla

    from runner.sim.process import EmbeddedServer

    start = time.perf_counter()
    with EmbeddedServer() as server:
        client = carla.Client(server.host, server.port)
        client.set_timeout(60.0)  # the first tick compiles everything (~15 s cold)
        world = client.get_world()
        settings = world.get_settings()
        settings.synchronous_mode = True
        settings.fixed_delta_seconds = 0.05
        world.apply_settings(settings)
        tm = client.get_trafficmanager(TM_PORT)
        tm.set_synchronous_mode(True)
        blueprint = world.get_blueprint_library().find("vehicle.audi.a2")
        points = world.get_map().get_spawn_points()[:CARS]
        cars = [world.try_spawn_actor(blueprint, p) for p in points]
        actors = [c for c in cars if c is not None]
        for car in actors:
            car.set_autopilot(True, TM_PORT)
        if actors:  # a car dropped onto another: the contact kernels run too
            above = actors[0].get_transform()
            above.location.z += 2.5
            touching = world.try_spawn_actor(blueprint, above)
            if touching is not None:
                actors.append(touching)
        try:
            for _ in range(TICKS):
                world.tick()
        finally:
            for car in actors:
                car.destroy()
            world.tick()
            tm.set_synchronous_mode(False)
            settings.synchronous_mode = False
            settings.fixed_delta_seconds = None
            world.apply_settings(settings)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"warm_kernels: numba kernels compiled and cached ({warm():.1f} s)", file=sys.stderr)
