"""Spawning the plan's actors with seeded choices; each undo is registered at once.

Every spawn happens inside `Interrupts.deferred()` and is handed to the run's `Undo`
on the very next line, so a Ctrl-C can never leave an actor the teardown does not
know about. Batch spawns use `apply_batch_sync(cmds, False)`: the `True` variant
holds the GIL while it waits for a tick, starving sensor callbacks (issue 9).
"""

from __future__ import annotations

import random
from typing import Any

import carla

from runner.client_errors import is_occupied, translate
from runner.errors import SpawnError
from runner.interrupts import Interrupts
from runner.plan import AttachSensor, SpawnEgo, SpawnProps, SpawnVehicles
from runner.pose import Pose
from runner.teardown import Undo


def pose_transform(pose: Pose) -> Any:
    """A plan pose as a `carla.Transform`."""
    return carla.Transform(
        carla.Location(x=pose.x, y=pose.y, z=pose.z),
        carla.Rotation(pitch=pose.pitch, yaw=pose.yaw, roll=pose.roll),
    )


class Spawner:
    """Spawns into one world; remembers named actors (ego, props) for `attach_to`."""

    def __init__(self, client: Any, undo: Undo, interrupts: Interrupts, seed: int) -> None:
        self.client = client
        self.undo = undo
        self.interrupts = interrupts
        self.rng = random.Random(seed)
        self.named: dict[str, Any] = {}
        self.used_points: set[int] = set()
        self.tm_port = 8000

    def _blueprint(self, world: Any, pattern: str, line: int | None) -> Any:
        """The exact blueprint, or a seeded choice among those the filter matches."""
        choices = sorted(world.get_blueprint_library().filter(pattern), key=lambda b: b.id)
        if not choices:
            raise SpawnError(f"no blueprint matches {pattern!r}", line=line)
        exact = [b for b in choices if b.id == pattern]
        return exact[0] if exact else self.rng.choice(choices)

    def _ego_transform(self, world: Any, step: SpawnEgo) -> Any:
        if step.pose is not None:
            return pose_transform(step.pose)
        points = world.get_map().get_spawn_points()
        index = self.rng.randrange(len(points)) if step.spawn_point in (None, "random") else 0
        if isinstance(step.spawn_point, int):
            index = step.spawn_point
        if not 0 <= index < len(points):
            message = f"ego spawn point {index} does not exist (map has {len(points)})"
            raise SpawnError(message, line=step.line)
        self.used_points.add(index)
        return points[index]

    def ego(self, world: Any, step: SpawnEgo) -> None:
        bp = self._blueprint(world, step.blueprint or step.filter, step.line)
        for name, value in step.attributes:
            if bp.has_attribute(name):
                bp.set_attribute(name, value)
        transform = self._ego_transform(world, step)
        try:
            with self.interrupts.deferred():
                ego = world.spawn_actor(bp, transform)
                self.undo.spawned(ego, "ego")
        except RuntimeError as exc:
            raise translate(exc, f"ego {bp.id} could not spawn", line=step.line) from exc
        self.named["ego"] = ego
        if step.autopilot:
            ego.set_autopilot(True, self.tm_port)

    def vehicles(self, world: Any, step: SpawnVehicles) -> tuple[int, int]:
        """Spawn up to `count` in one batch; returns (spawned, skipped: point occupied)."""
        points = world.get_map().get_spawn_points()
        free = [p for i, p in enumerate(points) if i not in self.used_points]
        self.rng.shuffle(free)
        library = sorted(world.get_blueprint_library().filter(step.filter), key=lambda b: b.id)
        bps = [self.rng.choice(library) for _ in free[: step.count]]
        cmd = carla.command
        batch = [
            cmd.SpawnActor(bp, point).then(
                cmd.SetAutopilot(cmd.FutureActor, step.autopilot, self.tm_port)
            )
            for bp, point in zip(bps, free, strict=False)
        ]
        with self.interrupts.deferred():
            responses = self.client.apply_batch_sync(batch, False)
            ids = [(r.actor_id, bp.id) for r, bp in zip(responses, bps, strict=True) if r.actor_id]
            self.undo.spawned_ids(ids, "vehicle")
        errors = [r.error for r in responses if r.error]
        real = [e for e in errors if not is_occupied(e)]
        if real:
            message = f"{len(real)} of {len(batch)} vehicles failed to spawn: {real[0]}"
            raise SpawnError(message, line=step.line)
        return len(ids), len(errors)

    def props(self, world: Any, step: SpawnProps) -> None:
        library = world.get_blueprint_library()
        batch = [
            carla.command.SpawnActor(library.find(p.blueprint), pose_transform(p.pose))
            for p in step.props
        ]
        with self.interrupts.deferred():
            responses = self.client.apply_batch_sync(batch, False)
            pairs = zip(responses, step.props, strict=True)
            ids = [(r.actor_id, p.blueprint) for r, p in pairs if r.actor_id]
            self.undo.spawned_ids(ids, "prop")
        for response, prop in zip(responses, step.props, strict=True):
            if response.error:
                raise SpawnError(f"prop {prop.blueprint}: {response.error}", line=prop.line)
            if prop.name is not None:
                self.named[prop.name] = world.get_actor(response.actor_id)

    def sensor(self, world: Any, step: AttachSensor) -> Any:
        bp = world.get_blueprint_library().find(step.blueprint)
        for name, value in step.attributes:
            bp.set_attribute(name, value)
        parent = None if step.parent is None else self.named[step.parent]
        transform = pose_transform(step.pose)
        try:
            with self.interrupts.deferred():
                sensor = world.spawn_actor(bp, transform, attach_to=parent)
                self.undo.spawned(sensor, f"sensor:{step.name}")
        except RuntimeError as exc:
            what = f"sensor {step.name!r} ({step.blueprint}) could not spawn"
            raise translate(exc, what, line=step.line) from exc
        return sensor
