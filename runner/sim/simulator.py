"""The simulation core behind the protocol: episode, clock, frames and their publication.

All world mutation happens under `lock` (the RPC dispatcher holds it for every call).
In synchronous mode a step runs inside the `tick_cue` call; in asynchronous mode a
wall-clock ticker thread steps the world. What else happens per step — sensor frames,
the recorder, the Traffic Manager — is done by `StepObserver`s the server registers;
they get what each step produced (`StepResult`), not the simulator.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Any

from runner.catalog import DEFAULT_WEATHER
from runner.sim.profiling import TIMER
from runner.sim.protocol import world_state
from runner.sim.protocol.streaming import StreamServer, make_token
from runner.sim.step import StepObserver, StepResult
from runner.sim.world.actors import Actor
from runner.sim.world.episode import Episode, id_counter
from runner.sim.world.loaded_map import LoadedMap, load_map
from runner.sim.world.maps import MapCatalog
from runner.sim.world.settings import EpisodeSettings
from runner.sim.world.stepper import WorldStepper

log = logging.getLogger("runner.sim")

WORLD_STREAM_ID = 1
ASYNC_PERIOD_S = 0.05
SYNC_IDLE_CHECK_S = 1.0  # the idle ticker looks again at least this often


class Simulator:
    """Owns the current episode and produces one world-state frame per step."""

    def __init__(self, maps: MapCatalog, stream: StreamServer, default_map: str) -> None:
        self.lock = threading.RLock()
        self._maps = maps
        self._stream = stream
        self._frame = 0
        self._elapsed_s = 0.0
        self._ids = id_counter(1)
        self._stream_ids = id_counter(WORLD_STREAM_ID + 1)
        self._sync_owner: int | None = None
        self._client_traffic_managers: dict[int, list[Any]] = {}
        self._observers: list[StepObserver] = []
        self._last_step_wall = time.monotonic()
        self._map: LoadedMap = load_map(maps.resolve(default_map))
        self._episode = self._new_episode(EpisodeSettings(), dict(DEFAULT_WEATHER))
        self._ticker_stop = threading.Event()
        self._settings_changed = threading.Event()  # wakes the ticker idling in sync mode
        self._ticker = threading.Thread(target=self._tick_async, name="async-ticker", daemon=True)

    # -- lifecycle -------------------------------------------------------------------
    def add_observer(self, observer: StepObserver) -> None:
        """Register a step observer (before `start`); it learns the current episode now."""
        with self.lock:
            self._observers.append(observer)
            observer.episode_changed(self._episode, self._map)

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker_stop.set()
        self._settings_changed.set()
        self._ticker.join(timeout=2.0)

    # -- read-only views ------------------------------------------------------------
    @property
    def episode(self) -> Episode:
        """The current episode (a new object after every load)."""
        return self._episode

    @property
    def map(self) -> LoadedMap:
        """The map the episode runs on."""
        return self._map

    @property
    def maps(self) -> MapCatalog:
        return self._maps

    @property
    def stepper(self) -> WorldStepper:
        """The episode's stepper (traffic-light groups and timings live there)."""
        return self._stepper

    @property
    def frame(self) -> int:
        return self._frame

    @property
    def elapsed_s(self) -> float:
        return self._elapsed_s

    def actor(self, actor_id: int) -> Actor | None:
        return self._episode.actors.get(actor_id)

    def token(self, stream_id: int) -> bytes:
        return make_token(stream_id, self._stream.port) if stream_id else b""

    def new_stream_id(self) -> int:
        return next(self._stream_ids)

    # -- episodes and actors -----------------------------------------------------------
    def _new_episode(self, settings: EpisodeSettings, weather: dict[str, float]) -> Episode:
        episode = Episode(
            id=Episode.new_id(),
            map_name=self._map.source.name,
            settings=settings,
            weather=weather,
            ids=self._ids,
        )
        self._stepper = WorldStepper(episode, self._map)
        return episode

    def load_episode(self, map_name: str, reset_settings: bool) -> None:
        """Switch map (or reload it with ""), clearing every actor of the old episode."""
        with self.lock:
            source = self._map.source if map_name == "" else self._maps.resolve(map_name)
            if source.name != self._map.source.name or source.xodr != self._map.source.xodr:
                self._map = load_map(source)
            settings = EpisodeSettings() if reset_settings else self._episode.settings
            if reset_settings:
                self._sync_owner = None
            self._episode = self._new_episode(settings, dict(DEFAULT_WEATHER))
            self._settings_changed.set()
            for observer in self._observers:
                observer.episode_changed(self._episode, self._map)
            log.info("loaded %s (episode %d)", source.name, self._episode.id)

    def add_actor(self, actor: Actor) -> None:
        """Put a freshly described actor into the episode and tell the observers."""
        self._episode.add(actor)
        for observer in self._observers:
            observer.actor_added(actor)

    def remove_actor(self, actor_id: int) -> Actor | None:
        """Take an actor out of the episode (None when there is no such actor)."""
        actor = self._episode.remove(actor_id)
        if actor is not None:
            self._stepper.forget(actor_id)
            for observer in self._observers:
                observer.actor_removed(actor)
        return actor

    def set_weather(self, weather: dict[str, float]) -> None:
        self._episode.weather = weather

    # -- settings ------------------------------------------------------------------------
    def apply_settings(self, settings: EpisodeSettings, connection_id: int) -> int:
        with self.lock:
            if settings.synchronous_mode and not self._episode.settings.synchronous_mode:
                self._sync_owner = connection_id
            if not settings.synchronous_mode:
                self._sync_owner = None
            self._episode.settings = settings
            self._settings_changed.set()
            return self._frame

    def client_gone(self, connection_id: int) -> None:
        """Better than CARLA: a vanished synchronous client does not freeze the world."""
        with self.lock:
            if self._sync_owner == connection_id and self._episode.settings.synchronous_mode:
                log.warning(
                    "the client that set synchronous mode disconnected; back to asynchronous"
                )
                settings = replace(self._episode.settings, synchronous_mode=False)
                self._episode.settings = settings
                self._sync_owner = None
                self._settings_changed.set()

    # -- Traffic Managers that clients run themselves (the registry CARLA keeps) ---------
    def register_traffic_manager(self, port: int, entry: list[Any]) -> bool:
        """A client's in-process TM announces itself; False when the port is taken."""
        if port in self._client_traffic_managers:
            return False
        self._client_traffic_managers[port] = entry
        return True

    def traffic_manager_entry(self, port: int) -> list[Any] | None:
        """[ip, port] of the client TM registered on `port`, if any."""
        return self._client_traffic_managers.get(port)

    def unregister_traffic_manager(self, port: int) -> bool:
        return self._client_traffic_managers.pop(port, None) is not None

    # -- stepping ------------------------------------------------------------------------
    def tick(self) -> int:
        """Advance one step (sync mode: from tick_cue) and publish its frames."""
        with self.lock:
            settings = self._episode.settings
            now = time.monotonic()
            dt = settings.fixed_delta_seconds or max(1e-3, now - self._last_step_wall)
            self._last_step_wall = now
            self._step(dt)
            return self._frame

    def _step(self, dt: float) -> None:
        """Observers' preparation, the world, the world-state frame, then the observers.

        The world state goes out before any sensor frame: the client's tick() waits for
        it, and sensor frames (read by callbacks that need the client's GIL) must not
        queue ahead of it. No step waits for a stream subscriber.
        """
        with TIMER.stage("before_step"):
            for observer in self._observers:
                observer.before_step(dt)
        with TIMER.stage("world"):
            self._stepper.step(dt)
        self._frame += 1
        self._elapsed_s += dt
        with TIMER.stage("world_state"):
            self._publish_world_state(dt)
        result = StepResult(
            frame=self._frame,
            elapsed_s=self._elapsed_s,
            dt_s=dt,
            episode=self._episode,
            contacts=tuple(self._stepper.contacts),
        )
        with TIMER.stage("after_step"):
            for observer in self._observers:
                observer.after_step(result)
        TIMER.step_done()

    def _publish_world_state(self, dt: float) -> None:
        payload = world_state.encode_frame(
            self._frame,
            self._elapsed_s,
            self._episode.id,
            time.time(),
            dt,
            list(self._episode.actors.values()),
        )
        self._stream.publish(WORLD_STREAM_ID, payload)

    def _tick_async(self) -> None:
        """Ticks at the episode's period in asynchronous mode; idles while it is synchronous.

        Idle means waiting for a change of settings, not polling: a thread waking every
        millisecond takes the GIL from the stepping thread hundreds of times a second.
        """
        next_due = time.monotonic()
        while not self._ticker_stop.is_set():
            with self.lock:
                settings = self._episode.settings
                period = settings.fixed_delta_seconds or ASYNC_PERIOD_S
                synchronous = settings.synchronous_mode
                if not synchronous and time.monotonic() >= next_due:
                    self.tick()
                    next_due = max(next_due + period, time.monotonic() - period)
            if synchronous:
                self._settings_changed.wait(SYNC_IDLE_CHECK_S)
                self._settings_changed.clear()
                next_due = time.monotonic()
            else:
                self._ticker_stop.wait(max(0.001, next_due - time.monotonic()))
