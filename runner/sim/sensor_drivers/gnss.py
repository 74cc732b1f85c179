"""GNSS: the parent's position as latitude, longitude and altitude (with noise)."""

from __future__ import annotations

from typing import Any

from runner.sim.sensor_drivers.base import (
    HubServices,
    PerSensorDriver,
    SensorRuntime,
    sensor_driver,
)
from runner.sim.sensors import GnssSensor
from runner.sim.step import StepResult
from runner.sim.world.actors import Actor


@sensor_driver("sensor.other.gnss")
class GnssDriver(PerSensorDriver):
    def start(self, actor: Actor, hub: HubServices) -> Any:
        return GnssSensor.from_actor(actor, hub.loaded_map().geo_reference)

    def measure(self, rt: SensorRuntime, step: StepResult, hub: HubServices) -> None:
        payload = rt.state.measure(step.frame, step.elapsed_s, rt.actor.transform)
        hub.publish(rt.actor.stream_id, payload)
