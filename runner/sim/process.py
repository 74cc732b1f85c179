"""The embedded server as a child process, for the runner and the tests.

    with EmbeddedServer(maps_dirs=[...]) as server:    # free loopback port by default
        client = carla.Client(server.host, server.port)

A separate process is required (the carla client holds the GIL while it waits) and
welcome (the server gets its own core). The child is stopped with SIGTERM, then killed.

This is the runner's only door into the simulator package: it imports nothing of the
server (the child is `python -m runner.sim`), so `import runner.execute` stays light.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from runner.catalog import DEFAULT_MAP

START_TIMEOUT_S = 60.0
READY_PREFIX = "embedded CARLA server listening on "
"""The child prints this, then host:port, once it accepts connections."""
PARENT_PID_ENV = "RUNNER_SIM_PARENT_PID"
"""Set for the child: it exits when that process (its launcher) dies unannounced."""


class ServerStartError(RuntimeError):
    """The child process died or never said it was listening."""


class EmbeddedServer:
    """Lifecycle: UNSTARTED → RUNNING (start) → STOPPED (stop); not restartable."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        maps_dirs: Sequence[str | Path] = (),
        default_map: str = DEFAULT_MAP,
        log_path: Path | None = None,
        recordings_dir: Path | None = None,
        client_traffic_manager: bool = False,
    ) -> None:
        """`recordings_dir`: the only folder clients may name recorder files in;
        `client_traffic_manager`: serve no TM port, so clients run CARLA's in-client TM."""
        self.host = host
        self.client_traffic_manager = client_traffic_manager
        self._recordings_dir = recordings_dir
        self._requested_port = port
        self._maps_dirs = [str(d) for d in maps_dirs]
        self._default_map = default_map
        self._log_path = log_path
        self._proc: subprocess.Popen[str] | None = None
        self._port: int | None = None
        self._log_lines: list[str] = []

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("server not started")
        return self._proc.pid

    def start(self) -> EmbeddedServer:
        if self._proc is not None:
            raise RuntimeError("an EmbeddedServer can be started once")
        cmd = [sys.executable, "-m", "runner.sim", "--host", self.host]
        cmd += ["--port", str(self._requested_port), "--map", self._default_map]
        for d in self._maps_dirs:
            cmd += ["--maps-dir", d]
        if self._recordings_dir is not None:
            cmd += ["--recordings-dir", str(Path(self._recordings_dir).absolute())]
        if self.client_traffic_manager:
            cmd.append("--client-traffic-manager")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env[PARENT_PID_ENV] = str(os.getpid())  # the server exits if we die unannounced
        self._proc = subprocess.Popen(  # own session: a terminal's Ctrl-C reaches only us
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        self._port = self._wait_ready()
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _wait_ready(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        found: list[int] = []

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                self._keep(line)
                if line.startswith(READY_PREFIX):
                    found.append(int(line.rsplit(":", 1)[1]))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not found:
            self.stop()
            tail = "".join(self._log_lines[-20:])
            raise ServerStartError(f"embedded server did not start:\n{tail}")
        return found[0]

    def _keep(self, line: str) -> None:
        self._log_lines.append(line)
        del self._log_lines[:-200]
        if self._log_path is not None:
            with self._log_path.open("a") as f:
                f.write(line)

    def _drain(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._keep(line)

    def log_tail(self) -> str:
        return "".join(self._log_lines[-50:])

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
