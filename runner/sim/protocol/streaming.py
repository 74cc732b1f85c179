"""CARLA's streaming server: one TCP connection per subscribed stream, length-prefixed frames.

The client connects to the port named in a stream token, sends the u32 stream id, then
only reads `[u32 length][payload]` frames. Each subscriber gets its own writer thread
and a byte-bounded queue, so a slow consumer never stalls the simulation.
"""

from __future__ import annotations

import collections
import logging
import socket
import struct
import threading

from runner.sim.protocol.listener import Listener, close_quietly

log = logging.getLogger("runner.sim.streaming")

TOKEN = struct.Struct("<IHBB16s")
MAX_QUEUED_BYTES = 512 * 1024 * 1024


def make_token(stream_id: int, port: int) -> bytes:
    """24-byte stream token; address 0.0.0.0 tells the client to dial its RPC host."""
    return TOKEN.pack(stream_id, port, 1, 1, b"\x00" * 16)


class _Subscriber:
    """One client socket reading one stream; frames are queued and written by a thread."""

    def __init__(self, sock: socket.socket, stream_id: int) -> None:
        self.sock = sock
        self.stream_id = stream_id
        self.alive = True
        self._frames: collections.deque[bytes | memoryview] = collections.deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._write_loop, name=f"stream-{stream_id}", daemon=True
        )
        self._thread.start()

    def push(self, frame: bytes | memoryview) -> None:
        with self._cond:
            self._frames.append(frame)
            self._queued_bytes += len(frame)
            while self._queued_bytes > MAX_QUEUED_BYTES and len(self._frames) > 1:
                dropped = self._frames.popleft()
                self._queued_bytes -= len(dropped)
                log.warning("stream %d: slow reader, dropped a frame", self.stream_id)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self.alive = False
            self._cond.notify()
        close_quietly(self.sock)

    def _write_loop(self) -> None:
        try:
            while self.alive:
                with self._cond:
                    if not self._frames:
                        self._cond.wait(timeout=0.5)
                    if not self.alive:
                        break
                    if not self._frames:
                        if _peer_closed(self.sock):
                            break
                        continue
                    frame = self._frames.popleft()
                    self._queued_bytes -= len(frame)
                self.sock.sendall(struct.pack("<I", len(frame)))
                self.sock.sendall(frame)
        except OSError:
            pass
        finally:
            self.alive = False
            close_quietly(self.sock)


def _peer_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class StreamServer:
    """Accepts stream subscriptions and fans published frames out to subscribers."""

    def __init__(self, host: str, port: int) -> None:
        self._listener = Listener(host, port, self._accepted, "stream-accept")
        self._subs: dict[int, list[_Subscriber]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Condition(self._lock)

    @property
    def port(self) -> int:
        return self._listener.port

    def start(self) -> None:
        self._listener.start()

    def stop(self) -> None:
        self._listener.stop()
        with self._lock:
            subs = [s for group in self._subs.values() for s in group]
            self._subs.clear()
        for s in subs:
            s.close()

    def has_subscribers(self, stream_id: int) -> bool:
        with self._lock:
            return any(s.alive for s in self._subs.get(stream_id, ()))

    def wait_for_subscriber(self, stream_id: int, timeout_s: float) -> bool:
        """Wait until someone subscribes to `stream_id` (a listen() in flight)."""
        with self._subscribed:
            return self._subscribed.wait_for(
                lambda: any(s.alive for s in self._subs.get(stream_id, ())), timeout_s
            )

    def publish(self, stream_id: int, frame: bytes | bytearray | memoryview) -> None:
        """Queue one payload for every live subscriber of `stream_id`."""
        data = frame if isinstance(frame, bytes | memoryview) else bytes(frame)
        with self._lock:
            group = self._subs.get(stream_id)
            if not group:
                return
            live = [s for s in group if s.alive]
            if len(live) != len(group):
                self._subs[stream_id] = live
        for s in live:
            s.push(data)

    def close_stream(self, stream_id: int) -> None:
        """Disconnect the subscribers of a destroyed sensor."""
        with self._lock:
            group = self._subs.pop(stream_id, [])
        for s in group:
            s.close()

    def _accepted(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        threading.Thread(target=self._subscribe, args=(sock,), daemon=True).start()

    def _subscribe(self, sock: socket.socket) -> None:
        sock.settimeout(5.0)
        try:
            head = b""
            while len(head) < 4:
                chunk = sock.recv(4 - len(head))
                if not chunk:
                    raise OSError("closed before sending a stream id")
                head += chunk
        except OSError as exc:
            log.warning("stream subscription failed: %s", exc)
            close_quietly(sock)
            return
        sock.settimeout(None)
        (stream_id,) = struct.unpack("<I", head)
        sub = _Subscriber(sock, stream_id)
        with self._subscribed:
            self._subs.setdefault(stream_id, []).append(sub)
            self._subscribed.notify_all()
        log.debug("subscribed to stream %d", stream_id)
