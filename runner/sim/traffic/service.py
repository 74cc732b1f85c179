"""The Traffic Manager as the embedded simulator serves it: RPC ports, registry answers, steps.

`client.get_trafficmanager(port)` asks the simulator `is_traffic_manager_running(port)`;
the simulator asks `address_for(port)` here, which starts serving that port on first use
(the requested port on our host when it is free, else any free port: the client dials
whatever `get_traffic_manager_running` names) and the client becomes a thin
`TrafficManagerRemote`. Its calls land in `methods.py`, under this service's own lock,
never the world's: rpclib's client gives each TM call 2 s, and a map load holds the world
lock longer than that. Each simulation step calls `drive`, which computes every
registered vehicle's control before physics runs.

No call waits for a step: a step can take seconds (the first one compiles the numba
kernels), and a remote whose keep-alive times out marks its episode failed, which makes
the client drop the next world snapshot and hang in `world.tick()`. So the keep-alive is
answered at once, and a call that finds a step in progress is queued and applied, in
order, before the next step (the only place the TM acts on it).

Lifecycle: RUNNING on construction → STOPPED (stop); ports are served until stop.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from runner.sim.protocol.rpc import Connection, RpcServer
from runner.sim.traffic.driver import Driver
from runner.sim.traffic.methods import ANSWERED_AT_ONCE, TM_METHODS, Handler
from runner.sim.traffic.parameters import TmSettings
from runner.sim.traffic.world import TrafficWorld

log = logging.getLogger("runner.sim.traffic")

DEFAULT_TM_PORT = 8000
CALL_WAIT_S = 0.2  # then a call queues for the next step (the client allows it 2 s)


@dataclass
class _QueuedCall:
    port: int
    name: str
    handler: Handler
    params: list[Any]
    error: Exception | None = None


class UnknownTmMethod(Exception):
    """A name the 0.9.16 remote never sends; answered with rpclib's error text."""


class TmPort:
    """The Traffic Manager behind one port: its settings and the vehicles it drives."""

    def __init__(self, service: TrafficService, port: int) -> None:
        self.port = port
        self.settings = TmSettings()
        self.members: set[int] = set()
        self.generation = 0  # bumped by every call: the driver re-reads settings then
        self._service = service

    def register(self, actor_ids: list[int]) -> None:
        for actor_id in actor_ids:
            self._service.claim(actor_id, self)

    def unregister(self, actor_ids: list[int]) -> None:
        self.members.difference_update(actor_ids)

    def shut_down(self) -> None:
        """CARLA releases the TM; the port stays served for the next get_trafficmanager."""
        log.info("traffic manager on port %d shut down by its client", self.port)
        self.members.clear()
        self.settings = TmSettings()

    def set_seed(self, seed: int) -> None:
        self.settings.seed = seed
        self._service.reseed(seed)


class TrafficService:
    """Serves Traffic Managers on demand and drives their vehicles each step."""

    def __init__(self, world: TrafficWorld, host: str = "127.0.0.1") -> None:
        self._host = host
        self._lock = threading.Lock()
        self._queue_lock = threading.Lock()  # held only to append or take calls
        self._queued: list[_QueuedCall] = []
        self._ports: dict[int, TmPort] = {}
        self._servers: dict[int, RpcServer] = {}
        self._addresses: dict[int, tuple[str, int]] = {}
        self._driver = Driver(world)
        self._pending_seed: int | None = None
        self._unclaimed: set[int] = set()
        self._stopped = False

    # -- registry answers (simulator RPC threads, world lock held) --------------------------
    def address_for(self, port: int) -> tuple[str, int] | None:
        """Where the TM for `port` listens, starting it if needed; None when stopped."""
        with self._lock:
            if self._stopped:
                return None
            if port not in self._addresses:
                self._start_port(port)
            return self._addresses[port]

    def _start_port(self, port: int) -> None:
        def on_call(conn: Connection, method: str, params: list[Any]) -> object:
            self._call(port, method, params)
            return None  # the remote reads no result

        def on_close(conn: Connection) -> None:
            log.debug("traffic manager client %s left port %d", conn.peer, port)

        try:
            server = RpcServer(self._host, port, on_call, on_close)
        except OSError:
            server = RpcServer(self._host, 0, on_call, on_close)  # taken: any free port
        server.start()
        self._ports[port] = TmPort(self, port)
        self._servers[port] = server
        self._addresses[port] = (self._host, server.port)
        log.info("traffic manager for port %d listening on %s:%d", port, self._host, server.port)

    def _call(self, port: int, method: str, params: list[Any]) -> None:
        handler = TM_METHODS.get(method)
        if handler is None:
            log.warning("unknown traffic-manager RPC %r on port %d", method, port)
            raise UnknownTmMethod(
                f"rpclib: server could not find function '{method}'"
                f" with argument count {len(params)}."
            )
        if method in ANSWERED_AT_ONCE:
            handler(None)
            return
        call = _QueuedCall(port, method, handler, params)
        with self._queue_lock:
            self._queued.append(call)
        if not self._lock.acquire(timeout=CALL_WAIT_S):
            return  # a step is running: drive() applies the call before the next one
        try:
            self._apply_queued()
        finally:
            self._lock.release()
        if call.error is not None:
            raise call.error

    def _apply_queued(self) -> None:
        """Apply the calls queued so far, in arrival order. Caller holds the lock."""
        with self._queue_lock:
            calls, self._queued = self._queued, []
        for call in calls:
            tm = self._ports.get(call.port)
            if tm is None:
                continue  # stopped meanwhile
            tm.generation += 1
            try:
                call.handler(tm, *call.params)
            except Exception as exc:  # a malformed call must not stop the others
                log.warning(
                    "traffic-manager RPC %s on port %d failed: %s", call.name, call.port, exc
                )
                call.error = exc

    # -- the SetAutopilot batch command ----------------------------------------------------
    def set_autopilot(self, actor_id: int, enabled: bool) -> None:
        """`command.SetAutopilot` reached the server; its TM port is not on the wire.

        `apply_batch_sync` registers the vehicle with the right TM right after the batch;
        a vehicle nobody claims by the next step goes to the first TM served (else 8000).
        """
        with self._lock:
            if enabled:
                self._unclaimed.add(actor_id)
                return
            self._unclaimed.discard(actor_id)
            for tm in self._ports.values():
                tm.members.discard(actor_id)

    def _assign_unclaimed(self) -> None:
        claimed = {v for tm in self._ports.values() for v in tm.members}
        orphans = sorted(self._unclaimed - claimed)
        self._unclaimed.clear()
        if not orphans or self._stopped:
            return
        if not self._ports:
            self._start_port(DEFAULT_TM_PORT)
        next(iter(self._ports.values())).members.update(orphans)

    # -- called with the service lock held (from TmPort) -----------------------------------
    def claim(self, actor_id: int, owner: TmPort) -> None:
        for tm in self._ports.values():
            if tm is not owner:
                tm.members.discard(actor_id)
        owner.members.add(actor_id)

    def reseed(self, seed: int) -> None:
        self._pending_seed = seed

    # -- every simulation step (world lock held) -------------------------------------------
    def drive(self, dt_s: float) -> None:
        with self._lock:
            self._apply_queued()
            seed, self._pending_seed = self._pending_seed, None
            if self._unclaimed:
                self._assign_unclaimed()
            self._driver.step(dt_s, list(self._ports.values()), seed)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            servers = list(self._servers.values())
        with self._queue_lock:
            self._queued.clear()
        for server in servers:
            server.stop()
