"""One episode of the embedded world: a map, its actors, settings and weather.

A new episode (load_world, reload_world) is a new object with a fresh random id; the
simulator swaps it in whole. Actor ids keep growing across episodes, so the client's
caches can never mistake a new actor for an old one.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.geometry import Transform
from runner.sim.world.settings import EpisodeSettings

_UNSPAWNABLE = {ActorKind.SPECTATOR, ActorKind.TRAFFIC_LIGHT, ActorKind.TRAFFIC_SIGN}
PHYSICAL_KINDS = (ActorKind.VEHICLE, ActorKind.WALKER, ActorKind.PROP)  # a tuple: `in` by identity
PHYSICAL = frozenset(PHYSICAL_KINDS)


@dataclass
class Episode:
    """The actor table and world parameters; stepping lives in `world/stepper.py`."""

    id: int
    map_name: str
    settings: EpisodeSettings
    weather: dict[str, float]
    ids: Iterator[int]
    actors: dict[int, Actor] = field(default_factory=dict)
    spectator_id: int = 0
    imu_gravity: float = 9.81
    physics_controls: dict[int, list[Any]] = field(default_factory=dict)
    ackermann: dict[int, list[float]] = field(default_factory=dict)
    wheel_angles: dict[tuple[int, int, str], float] = field(default_factory=dict)
    _by_kind: dict[tuple[ActorKind, ...], list[Actor]] = field(default_factory=dict, repr=False)

    @staticmethod
    def new_id() -> int:
        return random.SystemRandom().getrandbits(63) | 1

    def add(self, actor: Actor) -> Actor:
        self.actors[actor.id] = actor
        self._by_kind.clear()
        return actor

    def of_kind(self, *kinds: ActorKind) -> list[Actor]:
        """Live actors of these kinds in table order; the same list until one is added or removed.

        Every step walks the vehicles several times; filtering the whole table each time
        (traffic lights and signs included) cost more than the walks. Read-only for callers.
        """
        found = self._by_kind.get(kinds)
        if found is None:
            found = self._by_kind[kinds] = [a for a in self.actors.values() if a.kind in kinds]
        return found

    def next_id(self) -> int:
        return next(self.ids)

    def get(self, actor_id: int) -> Actor | None:
        return self.actors.get(actor_id)

    def children_of(self, actor_id: int) -> list[Actor]:
        return [a for a in self.actors.values() if a.parent_id == actor_id]

    def remove(self, actor_id: int) -> Actor | None:
        """Destroy one actor; its children stay where they are, detached (as in CARLA)."""
        actor = self.actors.get(actor_id)
        if actor is None or actor.kind in _UNSPAWNABLE:
            return None
        del self.actors[actor_id]
        self._by_kind.clear()
        for child in self.children_of(actor_id):
            child.parent_id = 0
            child.relative_transform = None
        return actor

    def attach(self, child: Actor, parent: Actor, relative: Transform) -> None:
        child.parent_id = parent.id
        child.relative_transform = relative
        child.transform = parent.transform.compose(relative)

    def update_attached(self) -> None:
        """Compose children's world poses from their parents' (parents first)."""
        for actor in self.actors.values():
            if actor.parent_id and actor.relative_transform is not None:
                parent = self.actors.get(actor.parent_id)
                if parent is not None:
                    actor.transform = _world_pose(self, parent).compose(actor.relative_transform)
                    actor.velocity = parent.velocity
                    actor.angular_velocity = parent.angular_velocity
                    actor.acceleration = parent.acceleration


def _world_pose(episode: Episode, actor: Actor) -> Transform:
    if actor.parent_id and actor.relative_transform is not None:
        parent = episode.actors.get(actor.parent_id)
        if parent is not None:
            return _world_pose(episode, parent).compose(actor.relative_transform)
    return actor.transform


def id_counter(start: int = 1) -> Iterator[int]:
    return itertools.count(start)
