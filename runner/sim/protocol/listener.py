"""A listening TCP socket with its accept thread: what the RPC and stream servers share."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

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
        while self._running.is_set():
            try:
                sock, addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._on_accept(sock, addr)


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
