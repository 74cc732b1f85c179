"""A Traffic Manager call never waits for a step in progress.

The 0.9.16 remote gives each call 2 s. Its keep-alive failing marks the client's episode
failed, and the client then drops the next world snapshot and hangs in `world.tick()`
(seen when the first step compiled the numba kernels for ~15 s). So while a step holds
the TM, the keep-alive is answered at once and other calls are answered at once and
applied, in order, before the next step. The calls go over the real wire (msgpack-rpc,
as `TrafficManagerRemote` sends them); the long step is the TM's lock held by a thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest

from runner.sim.server import SimulatorServer
from runner.sim.traffic.service import TrafficService


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served() -> Iterator[tuple[TrafficService, int, int]]:
    server = SimulatorServer().start()
    try:
        assert server.services is not None and server.services.traffic is not None
        traffic = server.services.traffic
        asked = _free_port()
        address = traffic.address_for(asked)
        assert address is not None
        yield traffic, asked, address[1]
    finally:
        server.stop()


class _Remote:
    """One connection speaking plain rpclib, as TrafficManagerRemote does."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self._unpacker = msgpack.Unpacker(raw=False)
        self._msgid = 0

    def call(self, name: str, *args: Any) -> tuple[Any, float]:
        """(the answer's error field, seconds until it came)."""
        self._msgid += 1
        start = time.monotonic()
        self._sock.sendall(msgpack.packb([0, self._msgid, name, list(args)]))
        while True:
            data = self._sock.recv(65536)
            assert data, "the TM closed the connection without answering"
            self._unpacker.feed(data)
            for message in self._unpacker:
                assert message[1] == self._msgid
                return message[2], time.monotonic() - start

    def close(self) -> None:
        self._sock.close()


def _hold(lock: threading.Lock, release: threading.Event) -> threading.Thread:
    """A step in progress: the TM's lock taken until `release`."""
    taken = threading.Event()

    def run() -> None:
        with lock:
            taken.set()
            release.wait(30.0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert taken.wait(5.0)
    return thread


@pytest.mark.timeout(60)
def test_calls_during_a_long_step_are_answered_at_once_and_applied_in_order(
    served: tuple[TrafficService, int, int],
) -> None:
    traffic, asked, listening = served
    remote = _Remote(listening)
    release = threading.Event()
    try:
        holder = _hold(traffic._lock, release)
        answers = [
            remote.call("health_check_remote_TM"),
            remote.call("set_global_distance_to_leading_vehicle", 7.5),
            remote.call("set_global_percentage_speed_difference", 10.0),
            remote.call("set_global_percentage_speed_difference", 35.0),
            remote.call("health_check_remote_TM"),
        ]
        for error, seconds in answers:
            assert error is None
            assert seconds < 1.0, "a TM call waited for the step (the remote allows 2 s)"
        settings = traffic._ports[asked].settings
        assert settings.lead_distance_m != 7.5, "applied while the step was running"
        release.set()
        holder.join(5.0)
        traffic.drive(0.05)  # the next step applies the queued calls first
        settings = traffic._ports[asked].settings
        assert settings.lead_distance_m == 7.5
        assert settings.speed_difference_pct == 35.0, "queued calls applied out of order"
    finally:
        release.set()
        remote.close()


@pytest.mark.timeout(60)
def test_a_call_with_no_step_running_is_applied_before_it_is_answered(
    served: tuple[TrafficService, int, int],
) -> None:
    traffic, asked, listening = served
    remote = _Remote(listening)
    try:
        error, _ = remote.call("set_global_distance_to_leading_vehicle", 4.25)
        assert error is None
        assert traffic._ports[asked].settings.lead_distance_m == 4.25
        error, _ = remote.call("set_global_distance_to_leading_vehicle", "not a number")
        assert error is not None, "a malformed call got no error answer"
        assert traffic._ports[asked].settings.lead_distance_m == 4.25
    finally:
        remote.close()
