"""A listening TCP socket with its accept thread: what the RPC and stream servers share."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable

log = logging.getLogger("runner.sim.listener")

ACCEPT_BACKOFF_S = 0.05

OnAccept = Callable[[socket.socket, tuple[str, int]], None]


class Listener:
    """Accepts connections on a thread and hands each to `on_accept` (which must not block)."""

    def __init__(self, host: str, port: int, on_accept: OnAccept, name: str) -> None:
        self._sock = socket.create_server((host, port))
        self._sock.settimeout(0.2)
        self._on_accept = on_accept
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    def stop(self) -> None:
        self._running.clear()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._sock.close()

    def _accept_loop(self) -> None:
        """Accept until stopped; no failure of one connection ends the loop.

        Out of descriptors (EMFILE) or a peer that reset before we saw it must not stop
        the server from accepting the next, well-behaved client.
        """
        while self._running.is_set():
            try:
                sock, addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._running.is_set():
                    break
                log.warning("%s: accept failed: %s", self._thread.name, exc)
                time.sleep(ACCEPT_BACKOFF_S)
                continue
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._on_accept(sock, addr)
            except Exception:  # a thread that cannot start, a reset peer: drop just this one
                log.exception("%s: connection from %s dropped", self._thread.name, addr)
                close_quietly(sock)


def set_send_timeout(sock: socket.socket, seconds: float) -> None:
    """SO_SNDTIMEO: a blocking send fails after `seconds` without progress (recv unaffected).

    A peer that stops reading then costs us one stuck thread for a bounded time, and
    its socket is closed (the CARLA client reconnects streams by itself).
    """
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
