"""IMU: accelerometer, gyroscope and compass of the parent."""

from __future__ import annotations

from typing import Any

from runner.sim.sensor_drivers.base import (
    HubServices,
    PerSensorDriver,
    SensorRuntime,
    sensor_driver,
)
from runner.sim.sensors import ImuSensor
from runner.sim.step import StepResult
from runner.sim.world.actors import Actor


@sensor_driver("sensor.other.imu")
class ImuDriver(PerSensorDriver):
    """Differentiates positions, so it samples every step even when nobody listens."""

    def start(self, actor: Actor, hub: HubServices) -> Any:
        return ImuSensor.from_actor(actor)

    def sample(self, rt: SensorRuntime, step: StepResult, listened: bool, hub: HubServices) -> None:
        actor = rt.actor
        parent = step.episode.get(actor.parent_id) if actor.parent_id else None
        angular = parent.angular_velocity if parent else actor.angular_velocity
        payload = rt.state.measure(
            step.frame, step.elapsed_s, actor.transform, angular, step.episode.imu_gravity
        )
        if listened and rt.due(step.elapsed_s):
            hub.publish(actor.stream_id, payload)
