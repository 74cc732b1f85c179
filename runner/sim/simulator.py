"""The simulation core behind the protocol: episode, clock, frames and their publication.

All world mutation happens under `lock`. In synchronous mode a step runs inside the
`tick_cue` call; in asynchronous mode a wall-clock ticker thread steps the world.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from runner.catalog import DEFAULT_WEATHER
from runner.sim.profiling import TIMER
from runner.sim.protocol import world_state
from runner.sim.protocol.streaming import StreamServer, make_token
from runner.sim.world.actors import Actor
from runner.sim.world.episode import Episode, id_counter
from runner.sim.world.loaded_map import LoadedMap, load_map
from runner.sim.world.maps import MapCatalog
from runner.sim.world.settings import EpisodeSettings
from runner.sim.world.stepper import WorldStepper

if TYPE_CHECKING:
    from runner.sim.sensor_hub import SensorHub
    from runner.sim.traffic.service import TrafficService

log = logging.getLogger("runner.sim")

WORLD_STREAM_ID = 1
ASYNC_PERIOD_S = 0.05


class Simulator:
    """Owns the current episode and produces one world-state frame per step."""

    def __init__(self, maps: MapCatalog, stream: StreamServer, default_map: str) -> None:
        self.lock = threading.RLock()
        self.maps = maps
        self.stream = stream
        self.frame = 0
        self.elapsed_s = 0.0
        self._ids = id_counter(1)
        self._stream_ids = id_counter(WORLD_STREAM_ID + 1)
        self.sync_owner: int | None = None
        self.traffic_managers: dict[int, list[object]] = {}
        self.on_step: list[Callable[[Simulator], None]] = []
        self.traffic: TrafficService | None = None  # our Traffic Manager, set by the server
        self._last_step_wall = time.monotonic()
        self.map: LoadedMap = load_map(maps.resolve(default_map))
        self.episode = self._new_episode(EpisodeSettings(), dict(DEFAULT_WEATHER))
        from runner.sim.sensor_hub import SensorHub

        self.sensors: SensorHub = SensorHub(self)
        from runner.sim.recorder.host import RecorderHost

        self.recorder = RecorderHost(self)
        self._ticker_stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_async, name="async-ticker", daemon=True)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker_stop.set()
        self._ticker.join(timeout=2.0)

    # -- episodes --------------------------------------------------------------------
    def _new_episode(self, settings: EpisodeSettings, weather: dict[str, float]) -> Episode:
        episode = Episode(
            id=Episode.new_id(),
            map_name=self.map.source.name,
            settings=settings,
            weather=weather,
            ids=self._ids,
        )
        self.stepper = WorldStepper(episode, self.map)
        return episode

    def load_episode(self, map_name: str, reset_settings: bool) -> None:
        """Switch map (or reload it with ""), clearing every actor of the old episode."""
        with self.lock:
            source = self.map.source if map_name == "" else self.maps.resolve(map_name)
            old = self.episode
            for actor in old.actors.values():
                if actor.stream_id:
                    self.stream.close_stream(actor.stream_id)
            if source.name != self.map.source.name or source.xodr != self.map.source.xodr:
                self.map = load_map(source)
            settings = EpisodeSettings() if reset_settings else old.settings
            if reset_settings:
                self.sync_owner = None
            self.episode = self._new_episode(settings, dict(DEFAULT_WEATHER))
            self.sensors.reset()
            log.info("loaded %s (episode %d)", source.name, self.episode.id)

    # -- sensors and tokens ------------------------------------------------------------
    def new_stream_id(self) -> int:
        return next(self._stream_ids)

    def token(self, stream_id: int) -> bytes:
        return make_token(stream_id, self.stream.port) if stream_id else b""

    # -- settings ------------------------------------------------------------------------
    def apply_settings(self, settings: EpisodeSettings, connection_id: int) -> int:
        with self.lock:
            if settings.synchronous_mode and not self.episode.settings.synchronous_mode:
                self.sync_owner = connection_id
            if not settings.synchronous_mode:
                self.sync_owner = None
            self.episode.settings = settings
            return self.frame

    def client_gone(self, connection_id: int) -> None:
        """Better than CARLA: a vanished synchronous client does not freeze the world."""
        with self.lock:
            if self.sync_owner == connection_id and self.episode.settings.synchronous_mode:
                log.warning(
                    "the client that set synchronous mode disconnected; back to asynchronous"
                )
                self.episode.settings = replace(self.episode.settings, synchronous_mode=False)
                self.sync_owner = None

    # -- stepping ------------------------------------------------------------------------
    def tick(self) -> int:
        """Advance one step (sync mode: from tick_cue) and publish its frames."""
        with self.lock:
            settings = self.episode.settings
            now = time.monotonic()
            dt = settings.fixed_delta_seconds or max(1e-3, now - self._last_step_wall)
            self._last_step_wall = now
            self._step(dt)
            return self.frame

    def _step(self, dt: float) -> None:
        """World, hooks, then the world-state frame, then sensor frames.

        The world state goes first: the client's tick() waits for it, and sensor frames
        (read by callbacks that need the client's GIL) must not queue ahead of it. No
        step waits for a stream subscriber or for stopped or destroyed sensors.
        """
        self.sensors.finish_pending()
        if self.traffic is not None:
            with TIMER.stage("traffic_manager"):
                self.traffic.drive(dt)  # TM vehicles' controls for this step, before physics
        with TIMER.stage("world"):
            self.stepper.step(dt)
        self.frame += 1
        self.elapsed_s += dt
        with TIMER.stage("hooks"):
            for hook in self.on_step:
                hook(self)
        with TIMER.stage("world_state"):
            self.publish_world_state(dt)
        with TIMER.stage("sensors"):
            self.sensors.measure(dt)
        TIMER.step_done()

    def publish_world_state(self, dt: float) -> None:
        payload = world_state.encode_frame(
            self.frame,
            self.elapsed_s,
            self.episode.id,
            time.time(),
            dt,
            list(self.episode.actors.values()),
        )
        self.stream.publish(WORLD_STREAM_ID, payload)

    def _tick_async(self) -> None:
        next_due = time.monotonic()
        while not self._ticker_stop.is_set():
            with self.lock:
                settings = self.episode.settings
                period = settings.fixed_delta_seconds or ASYNC_PERIOD_S
                if not settings.synchronous_mode and time.monotonic() >= next_due:
                    self.tick()
                    next_due = max(next_due + period, time.monotonic() - period)
            self._ticker_stop.wait(max(0.001, next_due - time.monotonic()))

    # -- queries ---------------------------------------------------------------------------
    def actor(self, actor_id: int) -> Actor | None:
        return self.episode.actors.get(actor_id)
