"""CARLA's streaming server: one TCP connection per subscribed stream, length-prefixed frames.

The client connects to the port named in a stream token, sends the u32 stream id, then
only reads `[u32 length][payload]` frames. Publishing never blocks the simulation: each
subscriber has its own writer thread and a short queue; a reader that falls behind
loses its oldest frames (counted), and one whose socket accepts nothing for
`SEND_STALL_S` is disconnected (the CARLA client reconnects by itself).

A stream whose token was just handed out (`announce`, from `get_sensor_token`) keeps
its latest frame until the listen() in flight connects, so the first frame after
listen() is delivered without the step ever waiting for the subscriber.
Every resource a peer can make us hold is bounded: handshakes, subscribers, parked
connections (subscriptions to streams that do not exist), queued bytes.
"""

from __future__ import annotations

import collections
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from runner.sim.protocol.listener import Listener, close_quietly, set_send_timeout

log = logging.getLogger("runner.sim.streaming")

TOKEN = struct.Struct("<IHBB16s")
WORLD_STREAM_ID = 1
MAX_QUEUED_FRAMES = 1024  # small frames (world state at 1 kHz): lag, not a stall
MAX_QUEUED_BYTES = 32 * 1024 * 1024
SEND_STALL_S = 30.0
HANDSHAKE_TIMEOUT_S = 5.0
ANNOUNCE_TTL_S = 10.0
MAX_HANDSHAKES = 64
MAX_SUBSCRIBERS = 512
MAX_PARKED = 256
IDLE_POLL_S = 0.5

Frame = bytes | memoryview


def make_token(stream_id: int, port: int) -> bytes:
    """24-byte stream token; address 0.0.0.0 tells the client to dial its RPC host."""
    return TOKEN.pack(stream_id, port, 1, 1, b"\x00" * 16)


class _Subscriber:
    """One client socket reading one stream; frames are queued and written by a thread."""

    def __init__(self, sock: socket.socket, stream_id: int) -> None:
        self.sock = sock
        self.stream_id = stream_id
        self.alive = True
        self.dropped = 0
        self._frames: collections.deque[Frame] = collections.deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()
        set_send_timeout(sock, SEND_STALL_S)
        self._thread = threading.Thread(
            target=self._write_loop, name=f"stream-{stream_id}", daemon=True
        )
        self._thread.start()

    def push(self, frame: Frame) -> int:
        """Queue a frame; the oldest ones go when the reader is behind. Returns how many."""
        before = self.dropped
        with self._cond:
            self._frames.append(frame)
            self._queued_bytes += len(frame)
            while len(self._frames) > 1 and (
                len(self._frames) > MAX_QUEUED_FRAMES or self._queued_bytes > MAX_QUEUED_BYTES
            ):
                self._queued_bytes -= len(self._frames.popleft())
                self.dropped += 1
                if self.dropped == 1:
                    log.warning("stream %d: slow reader, dropping frames", self.stream_id)
            self._cond.notify()
        return self.dropped - before

    def close(self) -> None:
        with self._cond:
            self.alive = False
            self._frames.clear()
            self._queued_bytes = 0
            self._cond.notify()
        close_quietly(self.sock)

    def _next(self) -> Frame | None:
        """The next frame to write, or None once this subscriber is finished."""
        with self._cond:
            while self.alive and not self._frames:
                self._cond.wait(timeout=IDLE_POLL_S)
                if self.alive and not self._frames and _peer_closed(self.sock):
                    return None
            if not self.alive:
                return None
            frame = self._frames.popleft()
            self._queued_bytes -= len(frame)
            return frame

    def _write_loop(self) -> None:
        try:
            while (frame := self._next()) is not None:
                self.sock.sendall(struct.pack("<I", len(frame)))
                self.sock.sendall(frame)
        except OSError as exc:  # includes the send stall (EAGAIN after SO_SNDTIMEO)
            if self.alive:
                log.info("stream %d: subscriber dropped: %s", self.stream_id, exc)
        finally:
            self.alive = False
            close_quietly(self.sock)
            if self.dropped:
                log.warning("stream %d: dropped %d frames", self.stream_id, self.dropped)


def _peer_closed(sock: socket.socket, junk_counts: bool = False) -> bool:
    """EOF or error on a socket the client only reads; with `junk_counts`, data too."""
    try:
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return data == b"" or junk_counts
    except BlockingIOError:
        return False
    except OSError:
        return True


@dataclass
class _Stream:
    """An open stream: its subscribers, and the frame held for an announced listen()."""

    subscribers: list[_Subscriber] = field(default_factory=list)
    announced_until: float = 0.0  # time.monotonic() deadline; 0 when not announced
    held: Frame | None = None

    def live(self) -> list[_Subscriber]:
        self.subscribers = [s for s in self.subscribers if s.alive]
        return self.subscribers

    def announced(self, now: float) -> bool:
        if self.announced_until and now >= self.announced_until:
            self.announced_until, self.held = 0.0, None
        return self.announced_until > 0.0


class StreamServer:
    """Accepts stream subscriptions and fans published frames out to subscribers."""

    def __init__(self, host: str, port: int) -> None:
        self._listener = Listener(host, port, self._accepted, "stream-accept")
        self._streams: dict[int, _Stream] = {WORLD_STREAM_ID: _Stream()}
        self._parked: collections.deque[socket.socket] = collections.deque()
        self._handshakes = threading.BoundedSemaphore(MAX_HANDSHAKES)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._reaper = threading.Thread(target=self._reap_parked, name="stream-reaper", daemon=True)
        self.refused = 0
        self.dropped_frames = 0

    @property
    def port(self) -> int:
        return self._listener.port

    def start(self) -> None:
        self._listener.start()
        self._reaper.start()

    def stop(self) -> None:
        self._stopping.set()
        self._listener.stop()
        with self._lock:
            subs = [s for st in self._streams.values() for s in st.subscribers]
            parked = list(self._parked)
            self._streams.clear()
            self._parked.clear()
        for s in subs:
            s.close()
        for sock in parked:
            close_quietly(sock)

    # -- streams -----------------------------------------------------------------------
    def open_stream(self, stream_id: int) -> None:
        """A sensor's stream exists from its spawn on; subscriptions to others are parked."""
        with self._lock:
            self._streams.setdefault(stream_id, _Stream())

    def close_stream(self, stream_id: int) -> None:
        """Disconnect the subscribers of a destroyed sensor and forget its stream."""
        with self._lock:
            stream = self._streams.pop(stream_id, None)
        for s in stream.subscribers if stream else ():
            s.close()

    def announce(self, stream_id: int, ttl_s: float = ANNOUNCE_TTL_S) -> None:
        """A client took this stream's token: hold its latest frame until it connects."""
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is not None:
                stream.announced_until = time.monotonic() + ttl_s

    def has_subscribers(self, stream_id: int) -> bool:
        with self._lock:
            stream = self._streams.get(stream_id)
            return bool(stream and stream.live())

    def is_listened(self, stream_id: int) -> bool:
        """Someone reads this stream now, or a listen() is on its way: worth measuring."""
        with self._lock:
            stream = self._streams.get(stream_id)
            return bool(stream and (stream.live() or stream.announced(time.monotonic())))

    def publish(self, stream_id: int, frame: bytes | bytearray | memoryview) -> None:
        """Queue one payload for every live subscriber of `stream_id`; never blocks."""
        data = frame if isinstance(frame, bytes | memoryview) else bytes(frame)
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is None:
                return
            live = list(stream.live())
            if not live:
                if stream.announced(time.monotonic()):
                    stream.held = data
                return
        dropped = sum(s.push(data) for s in live)
        if dropped:
            with self._lock:
                self.dropped_frames += dropped

    def counts(self) -> dict[str, int]:
        """Subscribers, parked sockets, refused connections and frames dropped so far."""
        with self._lock:
            return {
                "subscribers": sum(len(st.live()) for st in self._streams.values()),
                "parked": len(self._parked),
                "refused": self.refused,
                "dropped_frames": self.dropped_frames,
            }

    # -- subscriptions -----------------------------------------------------------------
    def _accepted(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        if not self._handshakes.acquire(blocking=False):
            self._refuse(sock, "too many stream handshakes in progress")
            return
        threading.Thread(
            target=self._handshake, args=(sock,), name="stream-handshake", daemon=True
        ).start()

    def _handshake(self, sock: socket.socket) -> None:
        try:
            stream_id = _read_stream_id(sock)
        except OSError as exc:
            log.info("stream subscription failed: %s", exc)
            close_quietly(sock)
            return
        finally:
            self._handshakes.release()
        self._subscribe(sock, stream_id)

    def _subscribe(self, sock: socket.socket, stream_id: int) -> None:
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is None:
                self._park(sock, stream_id)
                return
            total = sum(len(st.live()) for st in self._streams.values())
            if total < MAX_SUBSCRIBERS:
                sub = _Subscriber(sock, stream_id)
                if stream.held is not None:
                    sub.push(stream.held)  # the frame measured while this listen() connected
                stream.held, stream.announced_until = None, 0.0
                stream.subscribers.append(sub)
                log.debug("subscribed to stream %d", stream_id)
                return
        self._refuse(sock, f"stream {stream_id}: subscriber limit {MAX_SUBSCRIBERS} reached")

    def _park(self, sock: socket.socket, stream_id: int) -> None:
        """Keep a subscription to a gone (or never existing) stream open but silent.

        The CARLA client reconnects at once when the server closes a stream socket, so
        closing these would make it spin; a quiet socket costs only a descriptor, and
        `_reap_parked` closes it once its peer has gone. Caller holds the lock.
        """
        while len(self._parked) >= MAX_PARKED:
            close_quietly(self._parked.popleft())
        self._parked.append(sock)
        log.debug("stream %d does not exist: subscription parked", stream_id)

    def _reap_parked(self) -> None:
        """Close parked sockets whose peer left (or sent what no CARLA client sends)."""
        while not self._stopping.wait(IDLE_POLL_S):
            with self._lock:
                gone = [s for s in self._parked if _peer_closed(s, junk_counts=True)]
                for sock in gone:
                    self._parked.remove(sock)
            for sock in gone:
                close_quietly(sock)

    def _refuse(self, sock: socket.socket, why: str) -> None:
        with self._lock:
            self.refused += 1
        log.warning("stream connection refused: %s", why)
        close_quietly(sock)


def _read_stream_id(sock: socket.socket) -> int:
    """The 4-byte stream id a subscriber sends first, within HANDSHAKE_TIMEOUT_S."""
    sock.settimeout(HANDSHAKE_TIMEOUT_S)
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            raise OSError("closed before sending a stream id")
        head += chunk
    sock.settimeout(None)
    return int(struct.unpack("<I", head)[0])
