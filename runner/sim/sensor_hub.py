"""Server-side sensors of the current episode: created at spawn, measured every step.

Cameras that share a pose, size and field of view are rendered in one pass (RGB, depth
and segmentation of the tutorial's rig cost one geometry pass, not three); a sensor
nobody listens to is not rendered at all. `sensor_tick` paces each sensor in
simulated seconds, as CARLA does. An OpenGL context belongs to the thread that made
it, while steps run on whichever thread ticks (an RPC connection or the async
ticker), so every GL call goes through one dedicated thread.

A step never waits for a client: a listen() in flight is announced by its
`get_sensor_token` and the stream server holds the frame until the subscriber arrives;
and a step waits only for last step's GL work that still has a reader (work for
sensors stopped or destroyed since is cancelled, or left to finish unwatched).
"""

from __future__ import annotations

import copy
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner.sim.profiling import TIMER
from runner.sim.protocol import codec
from runner.sim.protocol.streaming import StreamServer
from runner.sim.sensors import GnssSensor, ImuSensor, SensorType, collision_payload
from runner.sim.step import StepObserver, StepResult
from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.episode import Episode
from runner.sim.world.loaded_map import LoadedMap

if TYPE_CHECKING:
    from runner.sim.render.renderer import Renderer

log = logging.getLogger("runner.sim.sensors")
RENDER_WAIT_S = 30.0  # a GL job slower than this is abandoned (its frame is lost)

CAMERA_OUTPUTS = {
    "sensor.camera.rgb": ("rgb", SensorType.RGB_CAMERA),
    "sensor.camera.depth": ("depth", SensorType.DEPTH_CAMERA),
    "sensor.camera.semantic_segmentation": ("semantic", SensorType.SEMANTIC_SEGMENTATION_CAMERA),
    "sensor.camera.instance_segmentation": ("instance", SensorType.INSTANCE_SEGMENTATION_CAMERA),
}


@dataclass
class _GlJob:
    """Work queued on the GL thread and the streams it will publish to."""

    future: Future[None]
    stream_ids: frozenset[int]


@dataclass
class _Runtime:
    actor: Actor
    sensor_tick_s: float
    next_due_s: float = 0.0
    state: Any = None

    def due(self, elapsed_s: float) -> bool:
        if self.sensor_tick_s <= 0.0:
            return True
        if elapsed_s + 1e-9 >= self.next_due_s:
            self.next_due_s = max(self.next_due_s + self.sensor_tick_s, elapsed_s)
            return True
        return False


def _float_attr(actor: Actor, name: str, default: float) -> float:
    try:
        return float(actor.attribute(name, str(default)))
    except ValueError:
        return default


class SensorHub(StepObserver):
    """Keeps one runtime per sensor actor and publishes its frames (a step observer)."""

    def __init__(
        self, stream: StreamServer, token: Callable[[int], bytes], gl_backend: str = "egl"
    ) -> None:
        self._stream = stream
        self._token = token
        self._gl_backend = gl_backend
        self._map: LoadedMap | None = None
        self.runtimes: dict[int, _Runtime] = {}
        self._renderer: Renderer | None = None
        self._renderer_map: str = ""
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

    def _loaded_map(self) -> LoadedMap:
        if self._map is None:
            raise RuntimeError("the sensor hub was not told the episode's map")
        return self._map

    def add(self, actor: Actor) -> None:
        rt = _Runtime(actor, _float_attr(actor, "sensor_tick", 0.0))
        if actor.type_id == "sensor.other.gnss":
            rt.state = GnssSensor.from_actor(actor, self._loaded_map().geo_reference)
        elif actor.type_id == "sensor.other.imu":
            rt.state = ImuSensor.from_actor(actor)
        elif actor.type_id == "sensor.lidar.ray_cast":
            rt.state = None  # scanner created on first use (needs the renderer's scene)
        self.runtimes[actor.id] = rt
        if actor.stream_id:
            self._stream.open_stream(actor.stream_id)

    # -- per step ----------------------------------------------------------------------
    def measure(self, step: StepResult) -> None:
        """Produce this frame's data for every sensor someone listens to.

        Camera frames are rendered on the GL thread after this returns; the world-state
        frame and the tick's answer go out meanwhile (`finish_pending` joins them).
        """
        if not self.runtimes:
            return
        cameras: list[_Runtime] = []
        for rt in self.runtimes.values():
            a = rt.actor
            listened = self._listened(a.stream_id)
            if a.type_id == "sensor.other.imu":
                self._imu(rt, listened, step)
            elif not listened or not rt.due(step.elapsed_s):
                continue
            elif a.type_id in CAMERA_OUTPUTS:
                cameras.append(rt)
            elif a.type_id == "sensor.other.gnss":
                self._publish(rt, rt.state.measure(step.frame, step.elapsed_s, a.transform))
            elif a.type_id == "sensor.other.collision":
                self._collisions(rt, step)
            elif a.type_id == "sensor.lidar.ray_cast":
                self._lidar(rt, step)
        if cameras and not step.episode.settings.no_rendering_mode:
            self._cameras(cameras, step)  # no_rendering_mode: as CARLA, cameras deliver nothing

    def _publish(self, rt: _Runtime, payload: bytes) -> None:
        self._stream.publish(rt.actor.stream_id, payload)

    def _imu(self, rt: _Runtime, listened: bool, step: StepResult) -> None:
        """The IMU differentiates positions, so it samples every step even when unheard."""
        parent = step.episode.get(rt.actor.parent_id) if rt.actor.parent_id else None
        angular = parent.angular_velocity if parent else rt.actor.angular_velocity
        payload = rt.state.measure(
            step.frame,
            step.elapsed_s,
            rt.actor.transform,
            angular,
            step.episode.imu_gravity,
        )
        if listened and rt.due(step.elapsed_s):
            self._publish(rt, payload)

    def _collisions(self, rt: _Runtime, step: StepResult) -> None:
        parent_id = rt.actor.parent_id
        if not parent_id:
            return
        for actor_id, other_id, impulse in step.contacts:
            if parent_id not in (actor_id, other_id):
                continue
            other = other_id if actor_id == parent_id else actor_id
            me, them = step.episode.get(parent_id), step.episode.get(other)
            if me is None or them is None:
                continue
            sign = 1.0 if actor_id == parent_id else -1.0
            payload = collision_payload(
                step.frame,
                step.elapsed_s,
                rt.actor.transform,
                codec.actor_record(me, self._token(me.stream_id)),
                codec.actor_record(them, self._token(them.stream_id)),
                (sign * impulse[0], sign * impulse[1], sign * impulse[2]),
            )
            self._publish(rt, payload)

    # -- rendering -----------------------------------------------------------------------
    def renderer(self) -> Renderer:
        """One renderer per map, built on first need, on the GL thread."""
        loaded = self._loaded_map()
        name = loaded.source.name
        if self._renderer is None or self._renderer_map != name:
            from runner.sim.render.context import describe
            from runner.sim.render.renderer import Renderer

            if self._renderer is not None:  # a map change: free the old context's memory
                self._renderer.ctx.release()  # (each renderer owns a standalone context)
            self._renderer = Renderer(loaded.carla_map, name, gl_backend=self._gl_backend)
            self._renderer_map = name
            log.info("renderer on %s for %s", describe(self._renderer.ctx), name)
        return self._renderer

    def _cameras(self, cameras: list[_Runtime], step: StepResult) -> None:
        from runner.sim.render.camera import image_payload
        from runner.sim.render.renderer import CameraRequest

        groups: dict[tuple[Any, ...], list[_Runtime]] = defaultdict(list)
        for rt in cameras:
            a = rt.actor
            key = (
                a.transform,
                int(a.attribute("image_size_x", "800")),
                int(a.attribute("image_size_y", "600")),
                _float_attr(a, "fov", 90.0),
            )
            groups[key].append(rt)
        requests = [
            CameraRequest(
                transform=key[0],
                width=key[1],
                height=key[2],
                fov_deg=key[3],
                outputs=frozenset(CAMERA_OUTPUTS[rt.actor.type_id][0] for rt in members),
            )
            for key, members in groups.items()
        ]
        # shallow copies: RPCs may replace poses while the GL thread draws this frame
        actors = [copy.copy(a) for a in step.episode.actors.values()]
        weather = dict(step.episode.weather)
        frame, elapsed = step.frame, step.elapsed_s
        streams = [[rt.actor for rt in members] for members in groups.values()]
        poses = list(groups)

        def render_and_publish() -> None:
            images = self.renderer().render(requests, actors, weather)
            for key, members, result in zip(poses, streams, images, strict=True):
                for actor in members:
                    output, sensor_type = CAMERA_OUTPUTS[actor.type_id]
                    payload = image_payload(
                        int(sensor_type), frame, elapsed, key[0], key[3], getattr(result, output)
                    )
                    self._stream.publish(actor.stream_id, payload)

        self._submit(render_and_publish, [a.stream_id for members in streams for a in members])

    def _submit(self, work: Callable[[], None], stream_ids: list[int]) -> None:
        if self._stuck is not None:
            if not self._stuck.future.done():
                return  # the GL thread is wedged: cameras and lidar deliver nothing
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

    def _lidar(self, rt: _Runtime, step: StepResult) -> None:
        """Scans the rendered scene, so it runs on the GL thread, after this step's cameras."""
        from runner.sim.render.lidar import LidarScanner

        actors = [copy.copy(a) for a in step.episode.actors.values()]
        actors = [a for a in actors if a.id != rt.actor.parent_id]
        frame, elapsed, pose, dt_s = step.frame, step.elapsed_s, rt.actor.transform, step.dt_s

        def scan_and_publish() -> None:
            if rt.state is None:
                attrs = {k: v for k, (_, v) in rt.actor.attributes.items()}
                rt.state = LidarScanner(self.renderer(), attrs)
            payload = rt.state.scan(frame, elapsed, pose, dt_s, actors)
            self._stream.publish(rt.actor.stream_id, payload)

        self._submit(scan_and_publish, [rt.actor.stream_id])
