"""The run's connection to a server: UNOPENED -> OPEN (`with`) -> CLOSED.

Opening starts an embedded server child when the plan's `Connect` step says so (and
stops it on close), creates the carla client with a worker pool larger than the
number of listening sensors (the client delivers sensor data on those threads; with
fewer threads than listeners one slow callback can starve the world-state stream)
and checks that the server answers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import carla

from runner.client_errors import translate
from runner.compile import DEFAULT_PORT
from runner.errors import ServerError
from runner.plan import Connect
from runner.sim.process import EmbeddedServer, ServerStartError

SPARE_WORKER_THREADS = 2
"""Client threads beyond one per listening sensor (world state, RPC replies)."""


class Session:
    """One client connection for one run; `client` is set while open."""

    def __init__(
        self,
        connect: Connect,
        *,
        maps_dirs: Sequence[Path] = (),
        log_path: Path | None = None,
        recordings_dir: Path | None = None,
        listening_sensors: int = 0,
    ) -> None:
        self.connect = connect
        self.host = connect.host or "127.0.0.1"
        self.port = connect.port or DEFAULT_PORT
        self.embedded_pid: int | None = None
        self.worker_threads = listening_sensors + SPARE_WORKER_THREADS
        self.client: Any = None
        self._maps_dirs = list(maps_dirs)
        self._log_path = log_path
        self._recordings_dir = recordings_dir
        self._stack = ExitStack()

    def __enter__(self) -> Session:
        with ExitStack() as stack:
            if self.connect.embedded:
                self._start_embedded(stack)
            self.client = carla.Client(self.host, self.port, self.worker_threads)
            self.client.set_timeout(self.connect.timeout_s)
            try:
                self.server_version = str(self.client.get_server_version())
            except RuntimeError as exc:
                where = f"{self.host}:{self.port}"
                raise ServerError(f"no CARLA server answers at {where}: {exc}") from exc
            self._stack = stack.pop_all()
        return self

    def _start_embedded(self, stack: ExitStack) -> None:
        try:
            embedded = EmbeddedServer(
                maps_dirs=self._maps_dirs,
                log_path=self._log_path,
                recordings_dir=self._recordings_dir,
                client_traffic_manager=self.connect.client_traffic_manager,
            )
            server = stack.enter_context(embedded)
        except ServerStartError as exc:
            raise ServerError(f"the embedded server did not start: {exc}") from exc
        self.host, self.port, self.embedded_pid = server.host, server.port, server.pid

    def fresh_client(self, timeout_s: float) -> Any:
        """A second connection to the same server, for when `client` is stuck in a call."""
        client = carla.Client(self.host, self.port, 1)
        client.set_timeout(timeout_s)
        return client

    def call_slow(self, what: str, call: Any, *args: Any) -> Any:
        """`call(*args)` (a map load) under the longer load timeout, errors translated."""
        self.client.set_timeout(self.connect.load_timeout_s)
        try:
            return call(*args)
        except RuntimeError as exc:
            raise translate(exc, what) from exc
        finally:
            self.client.set_timeout(self.connect.timeout_s)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.client = None
        self._stack.close()


TM_SERVED_BY_SIMULATOR = "simulator"
"""The embedded simulator serves the port; the client is a thin TrafficManagerRemote."""
TM_IN_CLIENT = "client"
"""CARLA's in-client Traffic Manager (TrafficManagerLocal) runs in this process."""
TM_REMOTE = "remote"
"""Something else serves the port (a simulator's or another client's TM); we are its remote."""


def traffic_manager_kind(session: Session, port: int) -> str:
    """Which Traffic Manager `get_trafficmanager(port)` gave this session (call it after).

    An in-client TM listens on its port from inside this process; a remote does not.
    """
    if session.connect.embedded and not session.connect.client_traffic_manager:
        return TM_SERVED_BY_SIMULATOR
    return TM_IN_CLIENT if listens_in_this_process(port) else TM_REMOTE


def listens_in_this_process(port: int) -> bool:
    """Whether one of this process's sockets listens on TCP `port` (Linux /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])  # 0A: LISTEN
    fds = Path("/proc/self/fd")
    for fd in fds.iterdir() if fds.is_dir() else ():
        try:
            if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes:
                return True
        except OSError:
            continue
    return False


def free_port(preferred: int) -> int:
    """`preferred` if nothing on this host listens there, else a port the OS picks."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise ServerError("no free port for the Traffic Manager")
