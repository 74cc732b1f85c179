"""The live teardown of a run, in CARLA's recommended order (carla-world.md section 8).

Whatever order things were acquired in, `Undo.close` runs:

    sensors stopped -> sensors and actors destroyed in one batch (children first)
    -> recorder stopped -> previous world settings restored (asynchronous)
    -> Traffic Manager synchronous mode off (and the run's own TM shut down)
    -> lease marked released

Every phase runs even if an earlier one failed; failures are reported once at the
end (as notes on the error in flight, if there is one). The plan's `Teardown` step
calls `close`; when a run fails first, the run's ExitStack calls it instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from runner.errors import RunError, ServerError
from runner.lease import LeasedActor, LeaseFile, sensors_first
from runner.world_ops import async_settings, destroy_in_one_batch, server_answers


@dataclass
class Undo:
    """Collects undo actions as things are acquired; `close` runs them in CARLA's order."""

    client: Any
    lease: LeaseFile
    _sensors: list[Any] = field(default_factory=list)
    _actors: list[LeasedActor] = field(default_factory=list)
    _recorder: bool = False
    _restore: dict[str, Any] | None = None
    _traffic_managers: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _closed: bool = False
    _client_stuck: bool = False

    def spawned(self, actor: Any, role: str) -> None:
        """Register an actor (a `carla.Actor`) right after it was spawned."""
        self.spawned_ids([(actor.id, actor.type_id)], role)
        if role.startswith("sensor"):
            self._sensors.append(actor)

    def spawned_ids(self, ids: list[tuple[int, str]], role: str) -> None:
        """Register batch-spawned actors by (id, type_id)."""
        leased = [LeasedActor(i, type_id, role) for i, type_id in ids]
        self._actors.extend(leased)
        self.lease.add_actors(leased)

    def recorder_started(self) -> None:
        self._recorder = True

    def settings_changed(self, original: dict[str, Any]) -> None:
        """Remember the settings to restore (asynchronous) before applying new ones."""
        self._restore = original
        self.lease.update(settings_to_restore=original)

    def client_stuck(self, fresh_client: Any) -> None:
        """The run's client is blocked in a call (a stalled tick): finish through `fresh_client`.

        Sensor `stop()` and every Traffic Manager call are skipped: they go through the
        stuck client (the TM's mutex is held by the blocked tick) and would hang too.
        """
        self.client = fresh_client
        self._client_stuck = True

    def traffic_manager_synchronous(self, traffic_manager: Any) -> None:
        self._traffic_managers.append(traffic_manager)

    def stop_recorder(self) -> None:
        """Stop the recorder now (to query its file); teardown then skips it."""
        if self._recorder:
            self._recorder = False
            self.client.stop_recorder()

    def close(self) -> list[str]:
        """Run every phase once; returns what failed (empty when all went well)."""
        if self._closed:
            return list(self.problems)
        self._closed = True
        self._phase("stop sensors", self._stop_sensors)
        if not server_answers(self.client):
            self.problems.append("teardown: the server does not answer; lease kept for cleanup")
            return list(self.problems)
        self._phase("destroy actors", self._destroy_actors)
        self._phase("stop recorder", self.stop_recorder)
        self._phase("restore world settings", self._restore_settings)
        self._phase("Traffic Manager synchronous mode off", self._traffic_managers_async)
        if not self.problems:
            self.lease.update(released=True)
        return list(self.problems)

    def _phase(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except (RuntimeError, RunError) as exc:
            self.problems.append(f"teardown: {what} failed: {exc}")

    def _stop_sensors(self) -> None:
        """Stop listening first, so no callback runs while actors are destroyed.

        No pause before `stop()`: stopping during an in-flight callback did not
        deadlock the 0.9.16 client in 6,000 tries (issue 9); the earlier 0.5 s drain
        rested on a wrong diagnosis.
        """
        if self._client_stuck:
            self._sensors.clear()
            return
        for sensor in reversed(self._sensors):
            with contextlib.suppress(RuntimeError):
                if sensor.is_listening():
                    sensor.stop()
        self._sensors.clear()

    def _destroy_actors(self) -> None:
        ordered = sensors_first(reversed(self._actors))
        alive = destroy_in_one_batch(self.client, [a.id for a in ordered])
        self.lease.remove_actors({a.id for a in ordered} - alive.keys())
        self._actors = [a for a in self._actors if a.id in alive]
        if alive:
            names = ", ".join(f"{a.type_id} {a.id} ({alive[a.id]})" for a in self._actors)
            raise ServerError(f"could not destroy {names}")

    def _restore_settings(self) -> None:
        if self._restore is not None:
            self.client.get_world().apply_settings(async_settings(self._restore))
            self._restore = None

    def _traffic_managers_async(self) -> None:
        """Sync off, then shut the run's own TM down: its thread would outlive the run
        and abort this process (TimeoutException) once the server is gone."""
        if self._client_stuck:  # the stall's error says why; nothing else can be done
            self._traffic_managers.clear()
        while self._traffic_managers:
            traffic_manager = self._traffic_managers.pop()
            traffic_manager.set_synchronous_mode(False)
            traffic_manager.shut_down()

    def __enter__(self) -> Undo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """The failure path (the plan's Teardown step closes first on success)."""
        if self._closed:
            return
        problems = self.close()
        if problems and exc is not None:
            for problem in problems:
                exc.add_note(problem)
        elif problems:
            raise ServerError("; ".join(problems))
