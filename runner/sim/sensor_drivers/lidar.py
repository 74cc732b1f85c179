"""Ray-cast LiDAR: scans the rendered scene, so it runs on the GL thread."""

from __future__ import annotations

import copy

from runner.sim.sensor_drivers.base import (
    HubServices,
    PerSensorDriver,
    SensorRuntime,
    sensor_driver,
)
from runner.sim.step import StepResult


@sensor_driver("sensor.lidar.ray_cast")
class LidarDriver(PerSensorDriver):
    """The scanner is made on first use: it needs the renderer's scene."""

    def measure(self, rt: SensorRuntime, step: StepResult, hub: HubServices) -> None:
        from runner.sim.render.lidar import LidarScanner

        actors = [copy.copy(a) for a in step.episode.actors.values() if a.id != rt.actor.parent_id]
        frame, elapsed, pose, dt_s = step.frame, step.elapsed_s, rt.actor.transform, step.dt_s

        def scan_and_publish() -> None:
            if rt.state is None:
                attrs = {k: v for k, (_, v) in rt.actor.attributes.items()}
                rt.state = LidarScanner(hub.renderer(), attrs)
            hub.publish(rt.actor.stream_id, rt.state.scan(frame, elapsed, pose, dt_s, actors))

        hub.submit_gl(scan_and_publish, [rt.actor.stream_id])
