"""Bridges the recorder RPCs to the recorder package (file writing and queries).

While recording, the host, a step observer, writes one frame per step (called with
the world's lock held). A recording ends with stop_recorder, a new start_recorder,
or the episode changing (load_world), which CARLA also ends.

Every file name a client sends is confined to `root` (`paths.confine`); the server
is started with it (`--recordings-dir`), else it is the user's recordings folder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.recorder import paths, queries
from runner.recorder.format import NON_ACTOR_ID
from runner.sim.errors import RpcError
from runner.sim.recorder.writer import Recorder
from runner.sim.step import StepObserver, StepResult
from runner.sim.world.actors import Actor
from runner.sim.world.loaded_map import LoadedMap

if TYPE_CHECKING:
    from runner.sim.world.episode import Episode

log = logging.getLogger("runner.sim.recorder")

COLLISION_SENSOR = "sensor.other.collision"


def collision_pairs(actors: Mapping[int, Actor], contacts: Sequence[Any]) -> list[tuple[int, int]]:
    """(actor, other) for each contact seen by a collision sensor, as CARLA logs them.

    CARLA records collisions through collision sensors only, so a side is logged when
    a `sensor.other.collision` rides on it. Contacts give (actor_id, other_id, …);
    an other that is not a live actor (0: the world) becomes NON_ACTOR_ID.
    """
    if not contacts:
        return []
    watched = {a.parent_id for a in actors.values() if a.type_id == COLLISION_SENSOR}
    pairs = []
    for contact in contacts:
        first, second = _contact_ids(contact)
        for me, other in ((first, second), (second, first)):
            if me in watched:
                pairs.append((me, other if other in actors else NON_ACTOR_ID))
    return pairs


def _contact_ids(contact: Any) -> tuple[int, int]:
    """(actor_id, other_id) of a contact tuple or record."""
    if hasattr(contact, "actor_id"):
        return int(contact.actor_id), int(contact.other_id)
    return int(contact[0]), int(contact[1])


class RecorderHost(StepObserver):
    """Holds the active recording, if any, of one simulator (a step observer)."""

    def __init__(self, root: Path) -> None:
        self._recorder: Recorder | None = None
        self._episode: Episode | None = None
        self._last_elapsed_s = 0.0
        self.root = root

    def path(self, rpc: str, filename: str) -> str:
        """Where `filename` points inside the root; a CARLA-style error when it leaves it."""
        try:
            return paths.confine(filename, self.root)
        except paths.PathRefused as exc:
            log.warning("%s refused: %s", rpc, exc)
            raise RpcError(f"Responding error from function {rpc}: {exc}") from exc

    def start(
        self,
        filename: str,
        additional_data: bool,
        *,
        episode: Episode,
        loaded_map: LoadedMap,
        elapsed_s: float,
    ) -> str:
        """Open `filename` (inside the root) and record `episode` from the next step on.

        Returns the full path, or "" when the file cannot be opened.
        """
        path = self.path("start_recorder", filename)
        self.stop()
        try:
            if Path(path).parent == self.root:
                self.root.mkdir(parents=True, exist_ok=True)
            file = open(path, "wb", buffering=0)  # noqa: SIM115  # closed by Recorder
        except OSError as exc:
            log.warning("cannot record to %s: %s", path, exc)
            return ""
        self._recorder = Recorder(file, loaded_map.source.name, additional_data)
        self._episode = episode
        self._last_elapsed_s = elapsed_s
        log.info("recording to %s", path)
        return path

    def stop(self) -> None:
        """Close the running recording, if any."""
        recorder, self._recorder = self._recorder, None
        self._episode = None
        if recorder is not None:
            recorder.close()

    @property
    def recording(self) -> bool:
        return self._recorder is not None

    def episode_changed(self, episode: Episode, loaded_map: LoadedMap) -> None:
        if self._recorder is not None:
            log.info("episode changed: recording stopped")
            self.stop()

    def after_step(self, step: StepResult) -> None:
        recorder = self._recorder
        if recorder is None or step.episode is not self._episode:
            return
        delta_s = step.elapsed_s - self._last_elapsed_s
        self._last_elapsed_s = step.elapsed_s
        actors = step.episode.actors
        pairs = collision_pairs(actors, step.contacts)
        recorder.write_frame(delta_s, actors, pairs, step.elapsed_s)

    def file_info(self, filename: str, show_all: bool) -> str:
        return queries.file_info(self.path("show_recorder_file_info", filename), show_all)

    def collisions(self, filename: str, type1: str, type2: str) -> str:
        return queries.collisions(self.path("show_recorder_collisions", filename), type1, type2)

    def actors_blocked(self, filename: str, min_time: float, min_distance: float) -> str:
        path = self.path("show_recorder_actors_blocked", filename)
        return queries.actors_blocked(path, min_time, min_distance)
