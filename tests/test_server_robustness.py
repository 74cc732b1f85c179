"""The server keeps serving through bad input, vanished clients and concurrent clients."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from typing import Any

import carla
import msgpack

from runner.sim.process import EmbeddedServer


def _raw_call(port: int, payload: bytes, timeout_s: float = 5.0) -> Any:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(payload)
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            data = sock.recv(65536)
            assert data, "server closed the connection without answering"
            unpacker.feed(data)
            for message in unpacker:
                return message


def _alive(server: EmbeddedServer) -> None:
    client = carla.Client(server.host, server.port)
    client.set_timeout(10.0)
    assert client.get_server_version() == "0.9.16"
    client.get_world().get_snapshot()


def test_unknown_method_gets_a_carla_style_error(server: EmbeddedServer) -> None:
    request = msgpack.packb([0, 7, "no_such_method", [[False], 1, 2]])
    _, msgid, error, result = _raw_call(server.port, request)
    assert msgid == 7 and error is None
    assert result[0][0] == 0 and "no_such_method" in result[0][1][0]
    _alive(server)


def test_malformed_frames_and_garbage_do_not_stop_the_server(server: EmbeddedServer) -> None:
    for junk in (
        b"\xc1\xc1\xc1\xc1",
        b"\x00" * 64,
        msgpack.packb({"not": "a request"}),
        b"\xff" * 9,
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(junk)
    _alive(server)


def test_wrongly_typed_arguments_get_an_error_answer(server: EmbeddedServer) -> None:
    request = msgpack.packb([0, 3, "spawn_actor", [[False], "not a description", 5]])
    _, _, error, result = _raw_call(server.port, request)
    assert error is None and result[0][0] == 0
    _alive(server)


def test_client_disconnecting_mid_call_is_harmless(server: EmbeddedServer) -> None:
    whole = msgpack.packb([0, 1, "get_actor_definitions", [[False]]])
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(whole[:5])
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(whole)  # closes before reading the (large) answer
    _alive(server)


def test_two_clients_share_one_world(server: EmbeddedServer) -> None:
    a = carla.Client(server.host, server.port)
    b = carla.Client(server.host, server.port)
    a.set_timeout(10.0)
    b.set_timeout(10.0)
    world_a, world_b = a.get_world(), b.get_world()
    assert world_a.id == world_b.id
    library = world_a.get_blueprint_library()
    point = world_a.get_map().get_spawn_points()[3]
    actor = world_a.spawn_actor(library.find("vehicle.audi.a2"), point)
    try:
        world_b.wait_for_tick(5.0)
        seen = world_b.get_actor(actor.id)
        assert seen is not None and seen.type_id == "vehicle.audi.a2"
    finally:
        assert actor.destroy()


SYNC_AND_VANISH = textwrap.dedent(
    """
    import os, sys, carla
    client = carla.Client("127.0.0.1", int(sys.argv[1]))
    client.set_timeout(10.0)
    world = client.get_world()
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    world.tick()
    os._exit(0)  # vanish without restoring asynchronous mode
    """
)


def test_world_returns_to_async_when_the_sync_client_vanishes(server: EmbeddedServer) -> None:
    subprocess.run(
        [sys.executable, "-c", SYNC_AND_VANISH, str(server.port)], check=True, timeout=60
    )
    client = carla.Client(server.host, server.port)
    client.set_timeout(10.0)
    world = client.get_world()
    deadline = time.monotonic() + 10.0
    while world.get_settings().synchronous_mode and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the closed connection asynchronously
    assert world.get_settings().synchronous_mode is False
    first = world.wait_for_tick(5.0).frame
    assert world.wait_for_tick(5.0).frame > first  # the world is ticking again
