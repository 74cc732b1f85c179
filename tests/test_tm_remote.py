"""The real client's `get_trafficmanager(port)` uses the Traffic Manager our server serves.

The client then runs no TM thread of its own (the race of carla#9172 cannot happen) and
forwards every TM call over RPC. Checked from both sides: the server says it serves the
port, the client never builds its own TM map (it prints a warning when it does), the
vehicles drive, several ports work at once, a port is usable again after shut_down, and
a client whose server dies gets Python errors, not an abort.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import carla
import pytest

from runner.sim.process import EmbeddedServer

LOCAL_TM_WARNING = "InMemoryMap"  # printed by the in-client TM when it builds its road graph


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_autopilot(client: carla.Client, world: carla.World, count: int, port: int) -> list[int]:
    """generate_traffic.py's way: one batch of SpawnActor(...).then(SetAutopilot(...))."""
    library = world.get_blueprint_library().filter("vehicle.*")
    points = world.get_map().get_spawn_points()[:count]
    batch = [
        carla.command.SpawnActor(library[i % len(library)], p).then(
            carla.command.SetAutopilot(carla.command.FutureActor, True, port)
        )
        for i, p in enumerate(points)
    ]
    ids = [r.actor_id for r in client.apply_batch_sync(batch, False) if not r.error]
    world.tick()  # never apply_batch_sync(..., True): docs/reliability.md section 2
    return ids


def synchronous(world: carla.World, on: bool) -> None:
    settings = world.get_settings()
    settings.synchronous_mode = on
    settings.fixed_delta_seconds = 0.05 if on else None
    world.apply_settings(settings)


def distances(world: carla.World, ids: list[int], start: dict[int, carla.Location]) -> list[float]:
    return [world.get_actor(i).get_location().distance(start[i]) for i in ids]


@pytest.mark.timeout(180)
def test_vehicles_registered_in_a_batch_drive_on_the_servers_tm(
    server: EmbeddedServer, client: carla.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    world = client.get_world()
    port = free_port()
    synchronous(world, True)
    tm = client.get_trafficmanager(port)
    tm.set_synchronous_mode(True)
    ids = spawn_autopilot(client, world, 8, port)
    assert len(ids) == 8
    world.tick()  # a new actor's location is known from the next frame on
    start = {i: world.get_actor(i).get_location() for i in ids}
    try:
        for _ in range(200):
            world.tick()
        moved = distances(world, ids, start)
    finally:
        client.apply_batch_sync([carla.command.DestroyActor(i) for i in ids], False)
        world.tick()
        tm.set_synchronous_mode(False)
        tm.shut_down()
        synchronous(world, False)
    assert statistics.median(moved) > 20.0
    assert f"traffic manager for port {port} listening" in server.log_tail()
    assert LOCAL_TM_WARNING not in capfd.readouterr().out


@pytest.mark.timeout(180)
def test_two_ports_at_once_and_a_port_reused_after_shut_down(
    server: EmbeddedServer, client: carla.Client
) -> None:
    world = client.get_world()
    synchronous(world, True)
    first, second = free_port(), free_port()
    tm_a, tm_b = client.get_trafficmanager(first), client.get_trafficmanager(second)
    tm_b.global_percentage_speed_difference(80.0)  # b's vehicles crawl
    blueprint = world.get_blueprint_library().filter("vehicle.*")[0]
    points = world.get_map().get_spawn_points()
    fast = [world.spawn_actor(blueprint, p) for p in points[:3]]
    slow = [world.spawn_actor(blueprint, p) for p in points[3:6]]
    for v in fast:
        v.set_autopilot(True, first)
    for v in slow:
        v.set_autopilot(True, second)
    world.tick()
    start = {v.id: v.get_location() for v in fast + slow}
    try:
        for _ in range(200):
            world.tick()
        fast_m = statistics.median(distances(world, [v.id for v in fast], start))
        slow_m = statistics.median(distances(world, [v.id for v in slow], start))
        tm_a.shut_down()
        tm_again = client.get_trafficmanager(first)  # a fresh remote on the same port
        for v in fast:
            v.set_autopilot(True, first)
        for _ in range(20):
            world.tick()
        tm_again.shut_down()
    finally:
        client.apply_batch_sync([carla.command.DestroyActor(v.id) for v in fast + slow], False)
        world.tick()
        tm_b.shut_down()
        synchronous(world, False)
    assert fast_m > 15.0
    assert slow_m < 0.6 * fast_m


_DYING_SERVER = """
import os, signal, sys
import carla
from runner.sim.process import EmbeddedServer

server = EmbeddedServer().start()
client = carla.Client(server.host, server.port)
client.set_timeout(2.0)
world = client.get_world()
settings = world.get_settings()
settings.synchronous_mode, settings.fixed_delta_seconds = True, 0.05
world.apply_settings(settings)
tm = client.get_trafficmanager({port})
tm.set_synchronous_mode(True)
vehicle = world.spawn_actor(
    world.get_blueprint_library().filter("vehicle.*")[0], world.get_map().get_spawn_points()[0]
)
vehicle.set_autopilot(True, {port})
for _ in range(20):
    world.tick()
os.kill(server.pid, signal.SIGKILL)
for call in (world.tick, tm.shut_down):
    try:
        call()
        print("returned")
    except RuntimeError as exc:
        print("RuntimeError", exc)
"""


@pytest.mark.timeout(120)
def test_a_client_whose_server_dies_gets_errors_not_an_abort() -> None:
    """The in-client TM aborts the process here (carla#6748); the remote does not."""
    script = textwrap.dedent(_DYING_SERVER.format(port=free_port()))
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=100,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith(("Runtime", "returned"))]
    assert len(lines) == 2 and all(line.startswith("RuntimeError") for line in lines)
