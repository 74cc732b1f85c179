"""Server-side sensors of the current episode: created at spawn, measured every step.

What each sensor type measures lives in its driver (`runner.sim.sensor_drivers`, one
module per type, registered by blueprint id); the hub owns what they share: the
streams, `sensor_tick` pacing, and the GL thread. A sensor nobody listens to is not
rendered at all. An OpenGL context belongs to the thread that made
it, while steps run on whichever thread ticks (an RPC connection or the async
ticker), so every GL call goes through one dedicated thread.

A step never waits for a client: a listen() in flight is announced by its
`get_sensor_token` and the stream server holds the frame until the subscriber arrives;
and a step waits only for last step's GL work that still has a reader (work for
sensors stopped or destroyed since is cancelled, or left to finish unwatched).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.sim.profiling import TIMER
from runner.sim.protocol.streaming import StreamServer
from runner.sim.sensor_drivers import drivers
from runner.sim.sensor_drivers.base import SensorDriver, SensorRuntime, float_attribute
from runner.sim.step import StepObserver, StepResult
from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.episode import Episode
from runner.sim.world.loaded_map import LoadedMap

if TYPE_CHECKING:
    from runner.sim.render.renderer import Renderer

log = logging.getLogger("runner.sim.sensors")
RENDER_WAIT_S = 30.0  # a GL job slower than this is abandoned (its frame is lost)


@dataclass
class _GlJob:
    """Work queued on the GL thread and the streams it will publish to."""

    future: Future[None]
    stream_ids: frozenset[int]


class SensorHub(StepObserver):
    """Keeps one runtime per sensor actor and runs its driver each step (a step observer).

    It is also the `HubServices` its drivers use (publish, GL thread, renderer, map).
    """

    def __init__(
        self, stream: StreamServer, token: Callable[[int], bytes], gl_backend: str = "egl"
    ) -> None:
        self._stream = stream
        self._token = token
        self._gl_backend = gl_backend
        self._map: LoadedMap | None = None
        self.runtimes: dict[int, SensorRuntime] = {}
        self._drivers: dict[type[SensorDriver], SensorDriver] = {}
        self._renderer: Renderer | None = None
        self._renderer_map: str = ""
        self._map_key: str = ""  # the current map's name and OpenDRIVE hash
        self._gl = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gl")
        self._pending: list[_GlJob] = []
        self._stuck: _GlJob | None = None

    def expect_subscriber(self, stream_id: int) -> None:
        """A client asked for this stream's token: its listen() is connecting now.

        Better than CARLA: the first frame measured from here on is kept by the stream
        server until the subscriber connects, so it is delivered, not lost.
        """
        if any(rt.actor.stream_id == stream_id for rt in self.runtimes.values()):
            self._stream.announce(stream_id)

    def _listened(self, stream_id: int) -> bool:
        return self._stream.is_listened(stream_id)

    # -- the episode's sensors (StepObserver) -------------------------------------------
    def episode_changed(self, episode: Episode, loaded_map: LoadedMap) -> None:
        """The old episode's sensors are gone: close their streams, forget them."""
        for rt in self.runtimes.values():
            if rt.actor.stream_id:
                self._stream.close_stream(rt.actor.stream_id)
        self.runtimes.clear()
        self._map = loaded_map
        xodr_hash = hashlib.sha1(loaded_map.source.xodr.encode()).hexdigest()
        self._map_key = f"{loaded_map.source.name}:{xodr_hash}"

    def actor_added(self, actor: Actor) -> None:
        if actor.kind is ActorKind.SENSOR and actor.stream_id:
            self.add(actor)

    def actor_removed(self, actor: Actor) -> None:
        if actor.stream_id:
            self.runtimes.pop(actor.id, None)
            self._stream.close_stream(actor.stream_id)

    def before_step(self, dt_s: float) -> None:
        self.finish_pending()

    def after_step(self, step: StepResult) -> None:
        self.measure(step)

    def add(self, actor: Actor) -> None:
        """A sensor spawned: its stream opens; a type without a driver stays silent."""
        driver = self._driver(actor.type_id)
        rt = SensorRuntime(actor, float_attribute(actor, "sensor_tick", 0.0), driver)
        if driver is not None:
            rt.state = driver.start(actor, self)
        self.runtimes[actor.id] = rt
        if actor.stream_id:
            self._stream.open_stream(actor.stream_id)

    def _driver(self, type_id: str) -> SensorDriver | None:
        cls = drivers().get(type_id)
        if cls is None:
            return None
        found = self._drivers.get(cls)
        if found is None:
            found = self._drivers[cls] = cls()
        return found

    # -- per step ----------------------------------------------------------------------
    def measure(self, step: StepResult) -> None:
        """Offer this step to every sensor's driver, then let batching drivers flush.

        GL work (cameras, lidar) runs on the GL thread after this returns; the
        world-state frame and the tick's answer go out meanwhile (`finish_pending`
        joins them at the next step).
        """
        if not self.runtimes:
            return
        used: list[SensorDriver] = []
        for rt in list(self.runtimes.values()):
            driver = rt.driver
            if driver is None:
                continue
            driver.sample(rt, step, self._listened(rt.actor.stream_id), self)
            if driver not in used:
                used.append(driver)
        for driver in used:
            driver.flush(step, self)

    # -- HubServices ---------------------------------------------------------------------
    def publish(self, stream_id: int, payload: bytes) -> None:
        self._stream.publish(stream_id, payload)

    def token(self, stream_id: int) -> bytes:
        return self._token(stream_id)

    def loaded_map(self) -> LoadedMap:
        if self._map is None:
            raise RuntimeError("the sensor hub was not told the episode's map")
        return self._map

    def renderer(self) -> Renderer:
        """The renderer, built on first need on the GL thread, switched to the current map.

        Maps are told apart by name and OpenDRIVE text: every generated world is called
        "OpenDriveMap", and the second one must not be drawn with the first one's roads.
        """
        loaded = self.loaded_map()
        name = loaded.source.name
        key = self._map_key
        if self._renderer is None:
            from runner.sim.render.context import describe
            from runner.sim.render.renderer import Renderer

            self._renderer = Renderer(
                loaded.carla_map, name, gl_backend=self._gl_backend, scene_key=key
            )
            log.info("renderer on %s for %s", describe(self._renderer.ctx), name)
        elif self._renderer_map != key:  # one context for the server's life (no leak)
            self._renderer.load_scene(loaded.carla_map, name, key)
            log.info("renderer now draws %s", name)
        self._renderer_map = key
        return self._renderer

    def submit_gl(self, work: Callable[[], None], stream_ids: list[int]) -> None:
        """Queue GL work; a wedged GL thread makes cameras and lidar deliver nothing."""
        if self._stuck is not None:
            if not self._stuck.future.done():
                return
            log.warning("the GL thread recovered; rendering resumes")
            self._stuck = None
        self._pending.append(_GlJob(self._gl.submit(work), frozenset(stream_ids)))

    def finish_pending(self) -> None:
        """Wait for last step's GL work that someone still reads, with a deadline.

        Renders overlap the client's work, not the next step. Work whose streams all
        lost their readers (stop(), destroy, a vanished client) is cancelled if it has
        not started and never waited for: no step depends on a stopped sensor.
        """
        with TIMER.stage("render_wait"):
            deadline = time.monotonic() + RENDER_WAIT_S
            for job in self._pending:
                if not any(self._listened(i) for i in job.stream_ids):
                    job.future.cancel()
                    continue
                self._join(job, deadline)
            self._pending.clear()

    def _join(self, job: _GlJob, deadline: float) -> None:
        try:
            job.future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            log.error("GL work exceeded %.0f s; its frames are lost", RENDER_WAIT_S)
            self._stuck = job
        except CancelledError:
            pass
        except Exception:
            log.exception("rendering failed; the frame's camera images are lost")
