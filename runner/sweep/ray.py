"""Running a sweep's variants as Ray tasks (`scenario sweep FILE --ray auto|ADDRESS`).

Ray is an optional extra (`pip install '.[ray]'`), imported only here. The driver
(this process) connects to an existing cluster (`auto`: the one this machine
belongs to; else its address, e.g. `10.0.0.5:6379`) and submits one task per variant:

- with `--server HOST:PORT` endpoints, each task asks for one unit of the custom
  resource `carla:HOST:PORT`; the node next to that CARLA server declares it
  (`ray start ... --resources='{"carla:HOST:PORT": 1}'`), so Ray never runs two
  tasks against one server, even for two drivers. The driver submits a variant to an
  endpoint when that endpoint's previous variant ended;
- without endpoints, each task starts an embedded server on its node (1 CPU each;
  `--workers N` caps how many run at once, else Ray's CPU count decides).

A task runs its variant in a child process (`runner.sweep.worker`), under the same
`--out` path, which must be shared by every node (NFS or similar). Failures follow
Ray's semantics: a node or worker process that dies is retried by Ray (up to
`MAX_RETRIES`; each retry first cleans up the dead attempt's lease), while a variant
that fails on its own is not retried; it is recorded as failed, as locally.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import RunError
from runner.sweep.index import Outcome, VariantEntry, attempts, new_run_id, outcome_of
from runner.sweep.state import Endpoint, Reporter, SweepState
from runner.sweep.worker import Job

MAX_RETRIES = 2
TASK_CPUS = 1
POLL_S = 0.5
CANCEL_GRACE_S = 90.0
RESOURCE_PREFIX = "carla:"


def endpoint_resource(endpoint: Endpoint) -> str:
    """The Ray custom resource that stands for one CARLA server."""
    return f"{RESOURCE_PREFIX}{endpoint.host}:{endpoint.port}"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        message = "--ray needs Ray: pip install 'carla-scenario-runner[ray]' (or '.[ray]')"
        raise RunError(message) from exc
    return ray


def run_variant_task(job: Job) -> Outcome:
    """The body of one Ray task: clean what a dead earlier attempt left, then run."""
    from runner.sweep.index import release_leftovers
    from runner.sweep.worker import run_subprocess

    variant_dir = Path(job.run_dir).parent
    release_leftovers(variant_dir)
    return run_subprocess(job)


@dataclass
class _Task:
    entry: VariantEntry
    endpoint: Endpoint
    job: Job
    started: float = field(default_factory=time.monotonic)


class RayExecutor:
    """Submits the pending variants of a prepared sweep and follows them to their end."""

    def __init__(
        self,
        ray: Any,
        state: SweepState,
        reporter: Reporter,
        *,
        servers: Sequence[Endpoint],
        workers: int | None,
        maps_dirs: Sequence[Path],
    ) -> None:
        self.ray = ray
        self.state = state
        self.reporter = reporter
        self.servers = list(servers)
        self.limit = workers
        self.maps_dirs = tuple(str(d) for d in maps_dirs)
        self.remote = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(run_variant_task)
        self.in_flight: dict[Any, _Task] = {}

    def check_resources(self) -> None:
        """Every endpoint must be a resource of the cluster, or its tasks would wait forever."""
        have = self.ray.cluster_resources()
        missing = [endpoint_resource(e) for e in self.servers if endpoint_resource(e) not in have]
        if missing:
            flag = ", ".join(f'"{name}": 1' for name in missing)
            raise RunError(
                f"the Ray cluster has no resource {', '.join(missing)}; start the node next to"
                f" each server with: ray start ... --resources='{{{flag}}}'"
            )

    def run(self) -> None:
        queue = self.state.pending()
        try:
            while queue or self.in_flight:
                queue = self._submit(queue)
                self._collect(timeout_s=POLL_S)
                self.reporter.progress(self.state.snapshot())
        except KeyboardInterrupt:
            self.reporter.note(f"interrupted: cancelling {len(self.in_flight)} Ray task(s)")
            self._cancel_all()
            raise

    def _free_endpoints(self) -> list[Endpoint]:
        busy = {t.endpoint for t in self.in_flight.values()}
        return [e for e in self.servers if e not in busy]

    def _submit(self, queue: list[VariantEntry]) -> list[VariantEntry]:
        while queue:
            if self.servers:
                free = self._free_endpoints()
                if not free:
                    break
                endpoint = free[0]
            else:
                if self.limit is not None and len(self.in_flight) >= self.limit:
                    break
                endpoint = Endpoint()
            self._launch(queue.pop(0), endpoint)
        return queue

    def _launch(self, entry: VariantEntry, endpoint: Endpoint) -> None:
        variant_dir = self.state.variant_dir(entry)
        job = Job(
            variant=entry.name,
            plan_name=f"{self.state.sweep.name}/{entry.folder}",
            scenario_path=str(variant_dir / "scenario.yaml"),
            run_dir=str(variant_dir / new_run_id()),
            host=endpoint.host,
            port=endpoint.port,
            maps_dirs=self.maps_dirs,
            log_path=str(variant_dir / "worker.log"),
        )
        options: dict[str, Any] = {"num_cpus": TASK_CPUS}
        if not endpoint.embedded:
            options["resources"] = {endpoint_resource(endpoint): 1}
        ref = self.remote.options(**options).remote(job)
        self.in_flight[ref] = _Task(entry, endpoint, job)
        self.state.mark_running(entry, f"ray:{endpoint}")
        self.reporter.started(entry)

    def _collect(self, timeout_s: float) -> None:
        if not self.in_flight:
            return
        ready, _ = self.ray.wait(list(self.in_flight), num_returns=1, timeout=timeout_s)
        for ref in ready:
            task = self.in_flight.pop(ref)
            self._finish(task, self._result(ref, task))

    def _result(self, ref: Any, task: _Task) -> Outcome:
        try:
            outcome: Outcome = self.ray.get(ref)
            return outcome
        except self.ray.exceptions.RayError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            runs = attempts(Path(task.job.run_dir).parent)
            if runs:
                return outcome_of(runs[-1], f"Ray task failed: {first}")
            return Outcome("failed", error=f"Ray task failed: {first}")

    def _finish(self, task: _Task, outcome: Outcome) -> None:
        outcome.wall_s = time.monotonic() - task.started
        if outcome.status in ("running", "ok") and outcome.error:
            outcome.status = "failed"
        self.state.mark_finished(task.entry, outcome)
        self.reporter.finished(task.entry)

    def _cancel_all(self) -> None:
        for ref in self.in_flight:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref)
        deadline = time.monotonic() + CANCEL_GRACE_S
        while self.in_flight and time.monotonic() < deadline:
            with contextlib.suppress(KeyboardInterrupt):
                self._collect(timeout_s=POLL_S)
        for task in self.in_flight.values():
            self._finish(task, Outcome("interrupted", error="cancelled"))
        self.in_flight.clear()


def run_on_ray(
    state: SweepState,
    reporter: Reporter,
    *,
    address: str,
    servers: Sequence[Endpoint] = (),
    workers: int | None = None,
    maps_dirs: Sequence[Path] = (),
) -> None:
    """Connect to the cluster at `address`, run the pending variants, disconnect."""
    ray = _import_ray()
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RunError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from exc
    try:
        executor = RayExecutor(
            ray, state, reporter, servers=servers, workers=workers, maps_dirs=maps_dirs
        )
        executor.check_resources()
        executor.run()
    finally:
        ray.shutdown()
