"""Server-side sensors of the current episode: created at spawn, measured every step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.sim.world.actors import Actor

if TYPE_CHECKING:
    from runner.sim.simulator import Simulator


class SensorHub:
    """Keeps one measuring object per sensor actor and publishes its frames."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.sensors: dict[int, Actor] = {}

    def add(self, actor: Actor) -> None:
        self.sensors[actor.id] = actor

    def remove(self, actor: Actor) -> None:
        self.sensors.pop(actor.id, None)

    def reset(self) -> None:
        self.sensors.clear()

    def measure(self, dt_s: float) -> None:
        """Produce this frame's data for every sensor someone listens to."""
