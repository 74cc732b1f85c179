"""What the Traffic Manager needs from the simulated world, and the adapter to our Simulator.

The Traffic Manager reads the world's plain records (`Episode`, `Actor`, `LoadedMap`) and
writes only vehicle controls, light flags and (hybrid mode) poses and the physics switch.
Everything else it needs goes through `TrafficWorld`, so a refactor of the Simulator's
internals touches `SimulatorWorld` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from runner.sim.world.actors import Actor
from runner.sim.world.episode import Episode
from runner.sim.world.loaded_map import LoadedMap

if TYPE_CHECKING:
    from runner.sim.simulator import Simulator


class TrafficWorld(Protocol):
    """The narrow view of the world; every call is made with the world's lock held."""

    def episode(self) -> Episode:
        """The current episode (a new object after every load_world / reload_world)."""

    def loaded_map(self) -> LoadedMap:
        """The map the episode runs on, with its road index and traffic-light specs."""

    def light_actors(self) -> Sequence[Actor | None]:
        """The traffic-light actor of each `loaded_map().lights` slot (None if missing)."""

    def reset_traffic_lights(self) -> None:
        """Restart every light group's cycle (CARLA's TM does this on a new random seed)."""


class SimulatorWorld:
    """`TrafficWorld` over `runner.sim.simulator.Simulator`."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._lights_for: tuple[int, list[Actor | None]] | None = None

    def episode(self) -> Episode:
        return self._sim.episode

    def loaded_map(self) -> LoadedMap:
        return self._sim.map

    def light_actors(self) -> Sequence[Actor | None]:
        episode = self._sim.episode
        if self._lights_for is None or self._lights_for[0] != episode.id:
            by_signal = {
                a.traffic_light.opendrive_id: a
                for a in episode.actors.values()
                if a.traffic_light is not None
            }
            slots = [by_signal.get(spec.opendrive_id) for spec in self._sim.map.lights]
            self._lights_for = (episode.id, slots)
        return self._lights_for[1]

    def reset_traffic_lights(self) -> None:
        self._sim.stepper.reset_all_lights()
