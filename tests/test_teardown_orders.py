"""Teardown in every order a CARLA script uses, against the embedded server (issue 9).

Each order runs in a child process (`python -m tests.test_teardown_orders ORDER PORT`)
under a deadline, so a hang fails the test instead of freezing the suite. The child
reports what happened as one JSON line; the test checks it and then, with its own
client, that no actor of the child is left and that the world still ticks.

One order is the pattern the 0.9.16 client itself can deadlock on:
`sensor.stop()` of listening sensors, then at once `apply_batch_sync(cmds, True)`.
That call holds the GIL while it waits for the tick's world-state frame, and the
client's stream threads are parked destroying the stopped sensors' Python callbacks,
which needs the GIL (docs/reliability.md). No server can unblock that; what the server
must do, and what the test checks, is to have ticked and sent the frame (it is there
as soon as the GIL is free), to leave nothing behind, and to keep serving.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import carla
import msgpack
import pytest

from runner.sim.process import EmbeddedServer

REPO = Path(__file__).resolve().parents[1]
CLIENT_TIMEOUT_S = 5.0
CHILD_DEADLINE_S = 90.0
WARM_TICKS = 5
CAMERA_KINDS = ("rgb", "depth", "semantic_segmentation")
POSE = carla.Transform(carla.Location(x=1.5, z=2.4))
TIMEOUT_TEXT = "time-out of"


# -- the child: one teardown order ----------------------------------------------------
class Rig:
    """An ego vehicle with sensors, each listening into its own queue."""

    def __init__(self, client: carla.Client, world: carla.World) -> None:
        self.client, self.world = client, world
        self.library = world.get_blueprint_library()
        point = world.get_map().get_spawn_points()[0]
        self.ego = world.spawn_actor(self.library.find("vehicle.tesla.model3"), point)
        self.sensors: list[carla.Sensor] = []
        self.queues: list[queue.Queue[Any]] = []
        self.every_step: list[bool] = []
        self.warm_frames_min = 0

    def add(self, type_id: str, **attributes: str) -> carla.Sensor:
        bp = self.library.find(type_id)
        for key, value in {"image_size_x": "160", "image_size_y": "120", **attributes}.items():
            if bp.has_attribute(key):
                bp.set_attribute(key, value)
        sensor = self.world.spawn_actor(bp, POSE, attach_to=self.ego)
        q: queue.Queue[Any] = queue.Queue()
        sensor.listen(q.put)
        self.sensors.append(sensor)
        self.queues.append(q)
        self.every_step.append("sensor_tick" not in attributes)
        return sensor

    def cameras(self, kinds: tuple[str, ...] = CAMERA_KINDS) -> Rig:
        for kind in kinds:
            self.add(f"sensor.camera.{kind}")
        return self

    def warm(self) -> None:
        """A few steps, then wait until every per-step sensor has the last one's frame.

        After this no sensor frame is in flight, so a teardown starts from a quiet
        client (no callback of the warm-up competes with it for the GIL).
        """
        for _ in range(WARM_TICKS):
            last = self.world.tick()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not all(
            q.qsize() and q.queue[-1].frame >= last
            for q, every in zip(self.queues, self.every_step, strict=True)
            if every
        ):
            time.sleep(0.02)
        counts = [q.qsize() for q, every in zip(self.queues, self.every_step, strict=True) if every]
        self.warm_frames_min = min(counts, default=0)

    @property
    def ids(self) -> list[int]:
        return [s.id for s in self.sensors] + [self.ego.id]

    def received(self) -> list[int]:
        return [q.qsize() for q in self.queues]

    def stop_all(self) -> None:
        for sensor in self.sensors:
            sensor.stop()

    def destroy_commands(self) -> list[carla.command.DestroyActor]:
        return [carla.command.DestroyActor(i) for i in self.ids]


def _sync_world(client: carla.Client) -> carla.World:
    world = client.get_world()
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    return world


def _async_again(world: carla.World) -> None:
    settings = world.get_settings()
    settings.synchronous_mode = False
    settings.fixed_delta_seconds = None
    world.apply_settings(settings)


def _user_pattern(rig: Rig) -> dict[str, Any]:
    """stop(), then apply_batch_sync(destroy, True): returns, or the client's own time-out."""
    frame_before = rig.world.get_snapshot().frame
    rig.stop_all()
    try:
        responses = rig.client.apply_batch_sync(rig.destroy_commands(), True)
        outcome = {"returned": True, "errors": [r.error for r in responses if r.has_error()]}
    except RuntimeError as exc:
        outcome = {"returned": False, "error": str(exc)}
    time.sleep(0.5)  # releases the GIL: the client's stream threads catch up
    outcome["frame_advance"] = rig.world.get_snapshot().frame - frame_before
    return outcome


def order_stop_then_destroy(rig: Rig) -> dict[str, Any]:
    rig.cameras().warm()
    rig.stop_all()
    for sensor in rig.sensors:
        sensor.destroy()
    rig.ego.destroy()
    return {}


def order_destroy_while_listening(rig: Rig) -> dict[str, Any]:
    rig.cameras().warm()
    for sensor in rig.sensors:
        sensor.destroy()  # the client stops it first, the server closes its stream
    rig.ego.destroy()
    return {}


def order_batch_then_tick(rig: Rig) -> dict[str, Any]:
    rig.cameras().warm()
    rig.stop_all()
    responses = rig.client.apply_batch_sync(rig.destroy_commands(), False)
    rig.world.tick()
    return {"errors": [r.error for r in responses if r.has_error()]}


def order_batch_with_tick_while_listening(rig: Rig) -> dict[str, Any]:
    """No stop(): the server closes the streams, the client reconnects to gone streams."""
    rig.cameras().warm()
    responses = rig.client.apply_batch_sync(rig.destroy_commands(), True)
    rig.stop_all()
    return {"errors": [r.error for r in responses if r.has_error()]}


def order_one_camera(rig: Rig) -> dict[str, Any]:
    rig.cameras(("rgb",)).warm()
    rig.stop_all()
    rig.client.apply_batch_sync(rig.destroy_commands(), False)
    rig.world.tick()
    return {}


def order_user_pattern(rig: Rig) -> dict[str, Any]:
    rig.cameras().warm()
    return _user_pattern(rig)


def order_user_pattern_one_camera(rig: Rig) -> dict[str, Any]:
    rig.cameras(("rgb",)).warm()
    return _user_pattern(rig)


def order_parent_first(rig: Rig) -> dict[str, Any]:
    """The vehicle goes first; its sensors stay in the world, detached, still measuring."""
    rig.cameras(("rgb", "depth")).warm()
    rig.ego.destroy()
    before = sum(rig.received())
    for _ in range(3):
        rig.world.tick()
    _drain_until(rig, before + 3 * len(rig.sensors))
    after = sum(rig.received())
    rig.stop_all()
    responses = rig.client.apply_batch_sync(
        [carla.command.DestroyActor(s.id) for s in rig.sensors], False
    )
    rig.world.tick()
    return {"frames_after_parent": after - before, "errors": [r.error for r in responses]}


def order_rig_sharing_a_pose(rig: Rig) -> dict[str, Any]:
    rig.cameras((*CAMERA_KINDS, "instance_segmentation"))
    rig.add("sensor.camera.rgb", sensor_tick="0.1")  # every other step
    rig.warm()
    rig.stop_all()
    for _ in range(2):
        rig.world.tick()  # stopped sensors: nothing to render, nothing to wait for
    rig.client.apply_batch_sync(rig.destroy_commands(), False)
    rig.world.tick()
    return {}


def order_lidar_beside_cameras(rig: Rig) -> dict[str, Any]:
    rig.add("sensor.lidar.ray_cast", channels="16", points_per_second="20000")
    rig.cameras(("rgb", "depth")).warm()
    rig.stop_all()
    rig.client.apply_batch_sync(rig.destroy_commands(), False)
    rig.world.tick()
    return {}


ORDERS: dict[str, Callable[[Rig], dict[str, Any]]] = {
    name.removeprefix("order_"): fn for name, fn in globals().items() if name.startswith("order_")
}


def _drain_until(rig: Rig, total: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(rig.received()) < total and time.monotonic() < deadline:
        time.sleep(0.02)


def run_order(order: str, port: int, worker_threads: int) -> dict[str, Any]:
    client = carla.Client("127.0.0.1", port, worker_threads)
    client.set_timeout(CLIENT_TIMEOUT_S)
    world = _sync_world(client)
    teardown = ORDERS[order]
    rig = Rig(client, world)
    result: dict[str, Any] = {"order": order}
    try:
        result.update(teardown(rig))
        result["ids"] = rig.ids
        result["warm_frames_min"] = rig.warm_frames_min
        for _ in range(3):
            world.tick()  # the world still steps after the teardown
        alive = {a.id for a in world.get_actors()}
        result["left"] = sorted(set(rig.ids) & alive)
    finally:
        _async_again(world)
    return result


def main() -> None:
    order, port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    print(json.dumps(run_order(order, port, workers)), flush=True)


# -- the tests --------------------------------------------------------------------------
def _child(server: EmbeddedServer, name: str, *extra: str) -> dict[str, Any]:
    """Run `name` in a child process against `server`; its JSON report."""
    command = [sys.executable, "-m", "tests.test_teardown_orders", name, str(server.port)]
    try:
        done = subprocess.run(
            [*command, *extra],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=CHILD_DEADLINE_S,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{name}: client hung past {CHILD_DEADLINE_S} s:\n{exc.stdout!r}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _clean_and_ticking(server: EmbeddedServer, ids: list[int]) -> None:
    client = carla.Client(server.host, server.port)
    client.set_timeout(10.0)
    world = client.get_world()
    assert not world.get_settings().synchronous_mode
    assert not {a.id for a in world.get_actors()} & set(ids)
    first = world.wait_for_tick(5.0).frame
    assert world.wait_for_tick(5.0).frame > first


SAFE_ORDERS = [
    "one_camera",
    "stop_then_destroy",
    "destroy_while_listening",
    "batch_then_tick",
    "batch_with_tick_while_listening",
    "rig_sharing_a_pose",
    "lidar_beside_cameras",
]


@pytest.mark.timeout(150)
@pytest.mark.parametrize("order", SAFE_ORDERS)
def test_teardown_order_returns_and_leaves_nothing(server: EmbeddedServer, order: str) -> None:
    result = _child(server, order)
    assert result["warm_frames_min"] >= WARM_TICKS  # every sensor delivered every step
    assert result["left"] == []
    assert not result.get("errors")
    _clean_and_ticking(server, result["ids"])


@pytest.mark.timeout(150)
def test_parent_destroyed_first_sensors_keep_measuring(server: EmbeddedServer) -> None:
    result = _child(server, "parent_first")
    assert result["frames_after_parent"] >= 3  # detached sensors stay alive, as in CARLA
    assert result["left"] == []
    _clean_and_ticking(server, result["ids"])


USER_PATTERNS = [
    ("user_pattern", "0"),  # three cameras, the default pool (one thread per core)
    ("user_pattern_one_camera", "0"),
    ("user_pattern", str(len(CAMERA_KINDS) + 2)),  # more stream threads than sensors
]


@pytest.mark.timeout(150)
@pytest.mark.parametrize(("order", "worker_threads"), USER_PATTERNS)
def test_stop_then_apply_batch_sync_with_tick_is_survived(
    server: EmbeddedServer, order: str, worker_threads: str
) -> None:
    """The user's teardown: it returns, or the 0.9.16 client times out on its own GIL.

    Either way the server executed the batch and ticked once (the frame is there as
    soon as the client's threads get the GIL back), nothing is left, the world steps.
    Neither one camera nor a wide pool guarantees the call returns: the client's
    streams share asio strand implementations, so the world-state stream can queue
    behind a parked callback while threads sit idle (docs/reliability.md).
    """
    result = _child(server, order, worker_threads)
    if not result["returned"]:
        assert TIMEOUT_TEXT in result["error"]
    assert result["frame_advance"] == 1
    assert result["left"] == []
    _clean_and_ticking(server, result["ids"])


# -- the server never waits for a subscriber ------------------------------------------
def _rpc(port: int, method: str, *args: Any) -> Any:
    """One synchronous msgpack-RPC call, answered value unwrapped from Response<T>."""
    with socket.create_connection(("127.0.0.1", port), timeout=10.0) as sock:
        sock.sendall(msgpack.packb([0, 1, method, [[False], *args]], use_bin_type=True))
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            data = sock.recv(1 << 16)
            assert data, f"no answer to {method}"
            unpacker.feed(data)
            for _, _, error, result in unpacker:
                assert error is None and result[0][0] == 1, result
                return result[0][1]


def _stream_of(port: int, actor_id: int) -> tuple[int, int]:
    """(stream id, streaming port) from the actor's token."""
    (record,) = _rpc(port, "get_actors_by_id", [actor_id])
    stream_id, stream_port = struct.unpack_from("<IH", record[5])
    return stream_id, stream_port


def _read_frame(sock: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "stream closed"
            data += chunk
        return data

    (length,) = struct.unpack("<I", exactly(4))
    return exactly(length)


@pytest.mark.timeout(120)
def test_announced_streams_never_stall_a_step_and_keep_their_frame(
    server: EmbeddedServer,
) -> None:
    """get_sensor_token without a subscription (a listen() that never connects).

    Before issue 9 each step waited 2 s per announced stream: with a 1 s client timeout
    these ticks raised. Now they return, and a subscriber that connects late still gets
    the frame measured after its announcement.
    """
    client = carla.Client(server.host, server.port)
    client.set_timeout(1.0)
    world = _sync_world(client)
    library = world.get_blueprint_library()
    gnss = [world.spawn_actor(library.find("sensor.other.gnss"), POSE) for _ in range(3)]
    try:
        streams = [_stream_of(server.port, g.id) for g in gnss]
        for stream_id, _ in streams:
            _rpc(server.port, "get_sensor_token", stream_id)
        frames = [world.tick() for _ in range(3)]
        stream_id, stream_port = streams[0]
        with socket.create_connection(("127.0.0.1", stream_port), timeout=10.0) as sock:
            sock.sendall(struct.pack("<I", stream_id))
            sensor_type, frame = struct.unpack_from("<QQ", _read_frame(sock))
        assert (sensor_type, frame) == (4, frames[-1])  # GNSS, the latest frame
    finally:
        client.set_timeout(10.0)
        client.apply_batch_sync([carla.command.DestroyActor(g.id) for g in gnss], False)
        _async_again(world)


# -- GNSS: the client-only stall and the safe pattern ----------------------------
GNSS_COUNT = 30
GNSS_STEPS = 20


def gnss_pattern(port: int) -> dict[str, Any]:
    """30 GNSS listening; each step as apply_batch_sync(cmds, False) + world.tick()."""
    client = carla.Client("127.0.0.1", port)
    client.set_timeout(CLIENT_TIMEOUT_S)
    world = _sync_world(client)
    library = world.get_blueprint_library()
    ego = world.spawn_actor(library.find("vehicle.audi.a2"), world.get_map().get_spawn_points()[1])
    got: queue.Queue[int] = queue.Queue()
    sensors = [
        world.spawn_actor(library.find("sensor.other.gnss"), POSE, attach_to=ego)
        for _ in range(GNSS_COUNT)
    ]
    for sensor in sensors:
        sensor.listen(lambda m: got.put(m.frame))
    try:
        frames = []
        for _ in range(GNSS_STEPS):
            client.apply_batch_sync([], False)
            frames.append(world.tick())  # waits without the GIL: callbacks run meanwhile
        deadline = time.monotonic() + 10.0
        while got.qsize() < GNSS_COUNT * GNSS_STEPS and time.monotonic() < deadline:
            time.sleep(0.02)
        seen = [got.get() for _ in range(got.qsize())]
    finally:
        for sensor in sensors:
            sensor.stop()
        client.apply_batch_sync([carla.command.DestroyActor(s.id) for s in [*sensors, ego]])
        world.tick()
        _async_again(world)
    last = frames[-1]
    return {"steps": len(frames), "complete_last": seen.count(last), "ids": [ego.id]}


@pytest.mark.timeout(150)
def test_many_gnss_listening_with_batch_then_tick(server: EmbeddedServer) -> None:
    """The safe pattern; `apply_batch_sync([], True)` here stalls in the client, even with
    `worker_threads` above 30 (strands shared), so no test relies on it."""
    result = _child(server, "gnss")
    assert result["steps"] == GNSS_STEPS
    assert result["complete_last"] == GNSS_COUNT  # every sensor's frame of the last step
    _clean_and_ticking(server, result["ids"])


if __name__ == "__main__":
    if sys.argv[1] == "gnss":
        print(json.dumps(gnss_pattern(int(sys.argv[2]))), flush=True)
    else:
        main()
