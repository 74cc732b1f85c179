"""Collision: one frame per contact of the parent this step, with the impulse."""

from __future__ import annotations

from runner.sim.protocol import codec
from runner.sim.sensor_drivers.base import (
    HubServices,
    PerSensorDriver,
    SensorRuntime,
    sensor_driver,
)
from runner.sim.sensors import collision_payload
from runner.sim.step import StepResult


@sensor_driver("sensor.other.collision")
class CollisionDriver(PerSensorDriver):
    def measure(self, rt: SensorRuntime, step: StepResult, hub: HubServices) -> None:
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
                codec.actor_record(me, hub.token(me.stream_id)),
                codec.actor_record(them, hub.token(them.stream_id)),
                (sign * impulse[0], sign * impulse[1], sign * impulse[2]),
            )
            hub.publish(rt.actor.stream_id, payload)
