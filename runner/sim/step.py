"""What one simulation step produced, and the observers that consume it.

The simulator core steps the world and publishes the world state; everything else
that must happen per step (sensor frames, the recorder, our Traffic Manager) is a
`StepObserver` the server registers. Observers receive plain data — the step's
frame, time, episode and contacts — never the simulator itself, so the core imports
none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runner.sim.world.actors import Actor
from runner.sim.world.episode import Episode
from runner.sim.world.loaded_map import LoadedMap
from runner.sim.world.stepper import Contact


@dataclass(frozen=True, slots=True)
class StepResult:
    """The world right after a step (read with the world's lock held)."""

    frame: int
    elapsed_s: float
    dt_s: float
    episode: Episode
    contacts: Sequence[Contact]


class StepObserver:
    """Base of everything the core notifies; every method is optional (a no-op here)."""

    def episode_changed(self, episode: Episode, loaded_map: LoadedMap) -> None:
        """A new episode (start-up, load_world, reload_world); the old one's actors are gone."""

    def actor_added(self, actor: Actor) -> None:
        """An actor entered the episode (spawned)."""

    def actor_removed(self, actor: Actor) -> None:
        """An actor left the episode (destroyed)."""

    def before_step(self, dt_s: float) -> None:
        """Before the world moves: finish last step's work, compute controls."""

    def after_step(self, step: StepResult) -> None:
        """After the world moved and its world-state frame went out."""
