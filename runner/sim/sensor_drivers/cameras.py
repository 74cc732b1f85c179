"""Cameras (RGB, depth, semantic and instance segmentation), rendered per shared pose.

Cameras that share a pose, size and field of view are drawn in one pass: the tutorial's
rig of RGB, depth and segmentation costs one geometry pass, not three. With
`no_rendering_mode` they deliver nothing, as in CARLA.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from runner.sim.sensor_drivers.base import (
    HubServices,
    SensorRuntime,
    float_attribute,
    sensor_driver,
)
from runner.sim.sensors import SensorType
from runner.sim.step import StepResult
from runner.sim.world.actors import Actor

CAMERA_OUTPUTS = {
    "sensor.camera.rgb": ("rgb", SensorType.RGB_CAMERA),
    "sensor.camera.depth": ("depth", SensorType.DEPTH_CAMERA),
    "sensor.camera.semantic_segmentation": ("semantic", SensorType.SEMANTIC_SEGMENTATION_CAMERA),
    "sensor.camera.instance_segmentation": ("instance", SensorType.INSTANCE_SEGMENTATION_CAMERA),
}

PoseKey = tuple[Any, int, int, float]


def _pose_key(actor: Actor) -> PoseKey:
    return (
        actor.transform,
        int(actor.attribute("image_size_x", "800")),
        int(actor.attribute("image_size_y", "600")),
        float_attribute(actor, "fov", 90.0),
    )


@sensor_driver(*CAMERA_OUTPUTS)
class CameraDriver:
    """Collects this step's due cameras in `sample`, renders them all in `flush`."""

    def __init__(self) -> None:
        self._due: list[SensorRuntime] = []

    def start(self, actor: Actor, hub: HubServices) -> Any:
        return None

    def sample(self, rt: SensorRuntime, step: StepResult, listened: bool, hub: HubServices) -> None:
        if listened and rt.due(step.elapsed_s):
            self._due.append(rt)

    def flush(self, step: StepResult, hub: HubServices) -> None:
        due, self._due = self._due, []
        if not due or step.episode.settings.no_rendering_mode:
            return
        from runner.sim.render.camera import image_payload
        from runner.sim.render.renderer import CameraRequest

        groups: dict[PoseKey, list[Actor]] = defaultdict(list)
        for rt in due:
            groups[_pose_key(rt.actor)].append(rt.actor)
        requests = [
            CameraRequest(
                transform=key[0],
                width=key[1],
                height=key[2],
                fov_deg=key[3],
                outputs=frozenset(CAMERA_OUTPUTS[a.type_id][0] for a in members),
            )
            for key, members in groups.items()
        ]
        # shallow copies: RPCs may replace poses while the GL thread draws this frame
        actors = [copy.copy(a) for a in step.episode.actors.values()]
        weather = dict(step.episode.weather)
        frame, elapsed = step.frame, step.elapsed_s
        batches = list(groups.items())

        def render_and_publish() -> None:
            images = hub.renderer().render(requests, actors, weather)
            for (key, members), result in zip(batches, images, strict=True):
                for actor in members:
                    output, sensor_type = CAMERA_OUTPUTS[actor.type_id]
                    payload = image_payload(
                        int(sensor_type), frame, elapsed, key[0], key[3], getattr(result, output)
                    )
                    hub.publish(actor.stream_id, payload)

        hub.submit_gl(render_and_publish, [a.stream_id for _, ms in batches for a in ms])
