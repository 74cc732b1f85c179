"""msgpack-RPC transport as rpclib speaks it: one TCP connection per `carla.Client`.

Only framing and dispatch live here; what each method means is in `runner.sim.handlers`.
Every request gets exactly one response, whatever happens: an unanswered synchronous
call on the client's Traffic Manager thread kills the client process.

What a peer can make us hold is bounded: connections, bytes buffered per connection,
the time a reply may wait for a peer that stopped reading, and log lines about its
malformed input.
"""

from __future__ import annotations

import itertools
import logging
import reprlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack

from runner.sim.protocol.listener import Listener, close_quietly, set_send_timeout

log = logging.getLogger("runner.sim.rpc")

MAX_BUFFER_BYTES = 128 * 1024 * 1024  # one request: a big town's OpenDRIVE text fits
MAX_CONNECTIONS = 128
MAX_METHOD_CHARS = 128
SEND_STALL_S = 30.0
LOGGED_BAD_MESSAGES = 5  # per connection; later ones are only counted


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
            full = len(self._conns) >= MAX_CONNECTIONS
            if not full:
                self._conns.add(sock)
        if full:
            log.warning("refusing %s: %d RPC connections open", conn.peer, MAX_CONNECTIONS)
            close_quietly(sock)
            return
        set_send_timeout(sock, SEND_STALL_S)
        threading.Thread(
            target=self._serve, args=(sock, conn), name=f"rpc-{conn.id}", daemon=True
        ).start()

    def _serve(self, sock: socket.socket, conn: Connection) -> None:
        log.debug("client %s connected (connection %d)", conn.peer, conn.id)
        unpacker = msgpack.Unpacker(
            raw=False, strict_map_key=False, max_buffer_size=MAX_BUFFER_BYTES
        )
        packer = msgpack.Packer(use_bin_type=True)
        bad = _BadInput(conn)
        try:
            while self._listener.running:
                data = sock.recv(1 << 16)
                if not data:
                    break
                unpacker.feed(data)
                for message in unpacker:
                    reply = self._handle(conn, message, packer, bad)
                    if reply is not None:
                        sock.sendall(reply)
        except (OSError, ValueError, msgpack.UnpackException) as exc:
            log.warning("connection %d (%s) dropped: %s", conn.id, conn.peer, exc)
        finally:
            with self._lock:
                self._conns.discard(sock)
            close_quietly(sock)
            bad.summary()
            log.debug("client %s disconnected", conn.peer)
            self._on_close(conn)

    def _handle(
        self, conn: Connection, message: Any, packer: msgpack.Packer, bad: _BadInput
    ) -> bytes | None:
        if not (isinstance(message, list) and len(message) == 4 and message[0] == 0):
            bad.note(f"ignoring malformed message {reprlib.repr(message)}")
            return None
        _, msgid, method, params = message
        if not isinstance(msgid, int) or not isinstance(method, str):
            bad.note("ignoring malformed request header")
            return None
        if len(method) > MAX_METHOD_CHARS:
            bad.note(f"method name of {len(method)} characters")
            text = f"rpclib: server could not find function '{method[:MAX_METHOD_CHARS]}...'"
            return packer.pack([1, msgid, None, [[0, [text]]]])
        args = list(params) if isinstance(params, list) else []
        try:
            return encode_response(msgid, self._dispatch(conn, method, args), packer)
        except Exception:  # never leave a call unanswered
            bad.note(f"internal error in {method}", with_traceback=True)
            return packer.pack([1, msgid, f"internal error in function {method}", None])


class _BadInput:
    """Counts a connection's malformed messages; logs only the first few."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.count = 0

    def note(self, what: str, with_traceback: bool = False) -> None:
        self.count += 1
        if self.count <= LOGGED_BAD_MESSAGES:
            log.warning(
                "connection %d (%s): %s",
                self.conn.id,
                self.conn.peer,
                what,
                exc_info=with_traceback,
            )

    def summary(self) -> None:
        if self.count > LOGGED_BAD_MESSAGES:
            log.warning("connection %d: %d malformed messages in all", self.conn.id, self.count)
