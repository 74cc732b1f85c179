"""msgpack-RPC transport as rpclib speaks it: one TCP connection per `carla.Client`.

Only framing and dispatch live here; what each method means is in `runner.sim.handlers`.
Every request gets exactly one response, whatever happens: an unanswered synchronous
call on the client's Traffic Manager thread kills the client process.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack

from runner.sim.protocol.listener import Listener, close_quietly

log = logging.getLogger("runner.sim.rpc")

MAX_BUFFER_BYTES = 512 * 1024 * 1024


class Prepacked(bytes):
    """A result that is already msgpack bytes (cached blueprint library, settings, ...)."""


@dataclass(frozen=True, slots=True)
class Connection:
    """Who made a call: a stable id per TCP connection and the peer address."""

    id: int
    peer: str


Dispatch = Callable[[Connection, str, list[Any]], Any]
OnClose = Callable[[Connection], None]


def encode_response(msgid: int, result: Any, packer: msgpack.Packer) -> bytes:
    """`[1, msgid, nil, result]`, splicing pre-packed results without re-encoding them."""
    if isinstance(result, Prepacked):
        return b"\x94\x01" + packer.pack(msgid) + b"\xc0" + bytes(result)
    return packer.pack([1, msgid, None, result])


class RpcServer:
    """Accepts connections and serves each on its own thread until it closes."""

    def __init__(self, host: str, port: int, dispatch: Dispatch, on_close: OnClose) -> None:
        self._dispatch = dispatch
        self._on_close = on_close
        self._listener = Listener(host, port, self._accepted, "rpc-accept")
        self._ids = itertools.count(1)
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return self._listener.port

    def start(self) -> None:
        self._listener.start()

    def stop(self) -> None:
        self._listener.stop()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            close_quietly(c)

    def _accepted(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        conn = Connection(next(self._ids), f"{addr[0]}:{addr[1]}")
        with self._lock:
            self._conns.add(sock)
        threading.Thread(
            target=self._serve, args=(sock, conn), name=f"rpc-{conn.id}", daemon=True
        ).start()

    def _serve(self, sock: socket.socket, conn: Connection) -> None:
        log.debug("client %s connected (connection %d)", conn.peer, conn.id)
        unpacker = msgpack.Unpacker(
            raw=False, strict_map_key=False, max_buffer_size=MAX_BUFFER_BYTES
        )
        packer = msgpack.Packer(use_bin_type=True)
        try:
            while self._listener.running:
                data = sock.recv(1 << 16)
                if not data:
                    break
                unpacker.feed(data)
                for message in unpacker:
                    reply = self._handle(conn, message, packer)
                    if reply is not None:
                        sock.sendall(reply)
        except (OSError, ValueError, msgpack.UnpackException) as exc:
            log.warning("connection %d (%s) dropped: %s", conn.id, conn.peer, exc)
        finally:
            with self._lock:
                self._conns.discard(sock)
            close_quietly(sock)
            log.debug("client %s disconnected", conn.peer)
            self._on_close(conn)

    def _handle(self, conn: Connection, message: Any, packer: msgpack.Packer) -> bytes | None:
        if not (isinstance(message, list) and len(message) == 4 and message[0] == 0):
            log.warning("connection %d: ignoring malformed message %.80r", conn.id, message)
            return None
        _, msgid, method, params = message
        if not isinstance(msgid, int) or not isinstance(method, str):
            log.warning("connection %d: ignoring malformed request header", conn.id)
            return None
        args = list(params) if isinstance(params, list) else []
        try:
            result = self._dispatch(conn, method, args)
        except Exception:  # never leave a call unanswered
            log.exception("internal error in %s", method)
            return packer.pack([1, msgid, f"internal error in function {method}", None])
        return encode_response(msgid, result, packer)
