"""The embedded CARLA-compatible server, in this process: start, serve, stop.

The carla client holds the GIL while it waits for answers, so a client and this server
cannot share a Python process: callers use `runner.sim.process.EmbeddedServer`, which
runs `serve_forever` in a child process. Streams listen on port + 1 when that is free
(as CARLA), else on any free port; the stream tokens tell the client where.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from runner.catalog import DEFAULT_MAP
from runner.settings import Settings
from runner.sim.handlers import Services, dispatch
from runner.sim.memory import EpisodeTrim, limit_malloc_arenas
from runner.sim.process import READY_PREFIX
from runner.sim.profiling import TIMER
from runner.sim.protocol.rpc import Connection, RpcServer
from runner.sim.protocol.streaming import StreamServer
from runner.sim.recorder.host import RecorderHost
from runner.sim.sensor_hub import SensorHub
from runner.sim.simulator import Simulator
from runner.sim.step import StepObserver
from runner.sim.traffic.service import TrafficService
from runner.sim.traffic.world import SimulatorWorld
from runner.sim.world.maps import MapCatalog

log = logging.getLogger("runner.sim")


class SimulatorServer:
    """Lifecycle: UNSTARTED → RUNNING (start) → STOPPED (stop); not restartable."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        maps_dirs: Sequence[str | Path] = (),
        default_map: str = DEFAULT_MAP,
        serve_traffic_manager: bool = True,
        recordings_dir: str | Path | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.host = host
        self._settings = settings or Settings()
        self._recordings_dir = Path(recordings_dir or self._settings.recordings_dir).absolute()
        self._serve_tm = serve_traffic_manager  # False: clients run CARLA's in-client TM
        self._requested_port = port
        self._maps = MapCatalog(maps_dirs, self._settings)
        self._default_map = default_map
        self._rpc: RpcServer | None = None
        self._stream: StreamServer | None = None
        self.simulator: Simulator | None = None
        self.services: Services | None = None
        self._stopped = False

    @property
    def port(self) -> int:
        if self._rpc is None:
            raise RuntimeError("server not started")
        return self._rpc.port

    @property
    def streaming_port(self) -> int:
        if self._stream is None:
            raise RuntimeError("server not started")
        return self._stream.port

    def start(self) -> SimulatorServer:
        if self._stopped or self._rpc is not None:
            raise RuntimeError("a SimulatorServer can be started once")
        self._stream, rpc_socket_port = _bind_pair(self.host, self._requested_port)
        sim = Simulator(self._maps, self._stream, self._default_map)
        self.simulator = sim
        services = Services(
            sensors=SensorHub(self._stream, sim.token, self._settings.gl_backend),
            recorder=RecorderHost(self._recordings_dir),
            traffic=TrafficService(SimulatorWorld(sim), self.host) if self._serve_tm else None,
        )
        self.services = services
        if services.traffic is not None:  # controls for this step, before physics
            sim.add_observer(_TrafficDriving(services.traffic))
        sim.add_observer(services.recorder)
        sim.add_observer(services.sensors)
        sim.add_observer(EpisodeTrim())

        def on_call(conn: Connection, method: str, params: list[object]) -> object:
            return dispatch(sim, services, conn, method, params)

        self._rpc = RpcServer(self.host, rpc_socket_port, on_call, lambda c: sim.client_gone(c.id))
        self._stream.start()
        self._rpc.start()
        sim.start()
        log.info(
            "embedded CARLA 0.9.16 server on %s:%d (streams %d)",
            self.host,
            self.port,
            self._stream.port,
        )
        _warn_if_exposed(self.host, self._recordings_dir)
        return self

    def stop(self) -> None:
        """Simulator RPC first, Traffic Manager ports last (see docs/traffic-manager.md)."""
        self._stopped = True
        if self._rpc is not None:
            self._rpc.stop()
        if self.simulator is not None:
            self.simulator.stop()
        if self._stream is not None:
            self._stream.stop()
        traffic = self.services.traffic if self.services is not None else None
        if traffic is not None:
            traffic.stop()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _TrafficDriving(StepObserver):
    """Our Traffic Manager computes its vehicles' controls before each step's physics."""

    def __init__(self, traffic: TrafficService) -> None:
        self._traffic = traffic

    def before_step(self, dt_s: float) -> None:
        with TIMER.stage("traffic_manager"):
            self._traffic.drive(dt_s)


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback one (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def _warn_if_exposed(host: str, recordings: Path) -> None:
    """Bound beyond loopback, anyone who reaches the port drives the world and its files."""
    if not is_loopback(host):
        log.warning(
            "listening on %s, reachable from other machines: any peer can control the "
            "simulation and write recordings under %s (use --host 127.0.0.1 to stay local)",
            host,
            recordings,
        )


def _bind_pair(host: str, port: int) -> tuple[StreamServer, int]:
    """Pick the RPC port (free if 0) and start streams on port + 1 when possible."""
    rpc_port = port or _free_port(host)
    for stream_port in (rpc_port + 1, 0):
        try:
            return StreamServer(host, stream_port), rpc_port
        except OSError:
            continue
    raise OSError("no free port for the streaming server")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve_forever(
    host: str,
    port: int,
    maps_dirs: Sequence[str | Path] = (),
    default_map: str = DEFAULT_MAP,
    serve_traffic_manager: bool = True,
    recordings_dir: str | Path | None = None,
    settings: Settings | None = None,
) -> None:
    """`scenario server`: run until Ctrl-C or SIGTERM; prints one ready line with the port.

    The simulator process's edge: the environment is read here, once (`Settings`).
    `serve_traffic_manager=False` leaves Traffic-Manager ports to the clients (CARLA's own
    in-client TM, exactly as against a CARLA server).
    """
    env = settings or Settings.from_env()
    logging.basicConfig(level=env.sim_log_level, format="%(asctime)s %(name)s: %(message)s")
    if env.sim_profile:
        TIMER.enable(cpu=env.sim_profile == "cpu")
    limit_malloc_arenas()  # before the server's threads start allocating
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    parent = env.sim_parent_pid or 0
    with SimulatorServer(
        host, port, maps_dirs, default_map, serve_traffic_manager, recordings_dir, env
    ) as server:
        print(f"{READY_PREFIX}{host}:{server.port}", flush=True)
        try:
            while not done.wait(0.5):
                if parent and not _alive(parent):
                    log.warning("parent process %d is gone; stopping", parent)
                    break
        except KeyboardInterrupt:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
