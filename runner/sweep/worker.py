"""One variant run in a process of its own (local worker, or inside a Ray task).

The carla client holds the GIL while it waits on the server, so one process drives
one client: the executor starts a fresh spawned process per variant. The process

- asks the kernel for SIGTERM when the sweep process dies (`PR_SET_PDEATHSIG`), so a
  `kill -9` of the sweep still tears every run down through `run_plan`'s own unwinding;
- leaves the terminal's process group, so one Ctrl-C reaches the sweep only, which
  forwards it (the worker would otherwise get it twice);
- sends ("ticks", done, total) and finally ("done", Outcome) over its pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from runner.sweep.index import Outcome, outcome_of

PR_SET_PDEATHSIG = 1
TICK_REPORT_INTERVAL_S = 0.25


@dataclass(frozen=True)
class Job:
    """What a worker needs to run one variant (plain data: it crosses process bounds)."""

    variant: str
    plan_name: str
    scenario_path: str
    run_dir: str
    host: str | None = None
    port: int | None = None
    traffic_manager_port: int | None = None
    maps_dirs: tuple[str, ...] = ()
    log_path: str | None = None


Report = Callable[[tuple[Any, ...]], None]


def run_job(job: Job, report: Report | None = None) -> Outcome:
    """Run the variant to its end (any end) and return its outcome from the manifest."""
    error = None
    try:
        plan = _plan(job)
        _run(plan, job, report)
    except KeyboardInterrupt:
        error = "interrupted"
    except Exception as exc:  # the outcome records it; the sweep goes on
        error = f"{type(exc).__name__}: {exc}"
    outcome = outcome_of(Path(job.run_dir), error)
    if error == "interrupted" and outcome.status != "interrupted":
        outcome = dataclasses.replace(outcome, status="interrupted")
    elif error is not None and outcome.status == "ok":
        outcome = dataclasses.replace(outcome, status="failed", error=error)
    return outcome


def _plan(job: Job) -> Any:
    from runner.compile import compile_plan
    from runner.load import load_scenario

    maps = [Path(d) for d in job.maps_dirs]
    scenario = load_scenario(job.scenario_path, maps_dirs=maps)
    plan = compile_plan(scenario, source=Path(job.scenario_path))
    plan = dataclasses.replace(plan, name=job.plan_name)
    if job.traffic_manager_port is not None:
        plan = with_traffic_manager_port(plan, job.traffic_manager_port)
    return plan


def with_traffic_manager_port(plan: Any, port: int) -> Any:
    """The plan with its Traffic Manager on `port` (each worker has its own)."""
    steps = tuple(
        dataclasses.replace(s, port=port) if type(s).__name__ == "ConfigureTrafficManager" else s
        for s in plan.steps
    )
    return dataclasses.replace(plan, steps=steps)


def _run(plan: Any, job: Job, report: Report | None) -> None:
    from runner.execute import run_plan

    kwargs: dict[str, Any] = {
        "host": job.host,
        "port": job.port,
        "run_dir": Path(job.run_dir),
        "maps_dirs": [Path(d) for d in job.maps_dirs],
    }
    hooks = _tick_hooks(plan, report)
    if hooks is not None:
        kwargs["hooks"] = hooks
    run_plan(plan, **kwargs)


def _tick_hooks(plan: Any, report: Report | None) -> Any:
    """RunHooks that report captured ticks at most every TICK_REPORT_INTERVAL_S."""
    if report is None:
        return None
    try:
        from runner.tick_loop import RunHooks
    except ImportError:
        return None
    loops = [s for s in plan.steps if type(s).__name__ == "TickLoop"]
    total = int(getattr(loops[0], "ticks", 0)) if loops else 0
    last = [0.0]

    def after_tick(index: int) -> None:
        now = time.monotonic()
        if now - last[0] >= TICK_REPORT_INTERVAL_S or index + 1 >= total:
            last[0] = now
            report(("ticks", index + 1, total))

    return RunHooks(after_tick=after_tick)


def worker_main(job: Job, conn: Connection) -> None:
    """Entry point of a spawned worker process."""
    parent = multiprocessing.parent_process()
    _die_with_parent(parent.pid if parent is not None else None)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    _redirect_output(job.log_path)

    def report(message: tuple[Any, ...]) -> None:
        with contextlib.suppress(OSError, ValueError):
            conn.send(message)

    report(("started", os.getpid()))
    outcome = run_job(job, report)
    report(("done", outcome))
    conn.close()
    # Everything is on disk; skip the carla client's destructors, which can abort a
    # process whose server is already gone (carla#6748).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _die_with_parent(parent_pid: int | None) -> None:
    """SIGTERM this process when its parent dies (Linux); exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def _redirect_output(log_path: str | None) -> None:
    """The worker's stdout/stderr go to the variant's worker.log, not the sweep's terminal."""
    if log_path is None:
        return
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)


def run_subprocess(job: Job, *, poll_s: float = 0.5, stop_grace_s: float = 90.0) -> Outcome:
    """Run `job` in `python -m runner.sweep.worker` and wait (the Ray task's body).

    A `KeyboardInterrupt` here (Ray's cancel) is forwarded to the child as SIGINT; the
    child then tears its run down and its outcome says "interrupted".
    """
    import json
    import subprocess

    outcome_path = Path(job.run_dir).with_name(Path(job.run_dir).name + ".outcome.json")
    command = [sys.executable, "-m", "runner.sweep.worker", json.dumps(dataclasses.asdict(job))]
    command.append(str(outcome_path))
    env = dict(os.environ, RUNNER_SWEEP_PARENT=str(os.getpid()))
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        while process.poll() is None:
            time.sleep(poll_s)
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=stop_grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    try:
        outcome = Outcome(**json.loads(outcome_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        outcome = outcome_of(Path(job.run_dir), f"worker process died (exit {process.returncode})")
    with contextlib.suppress(OSError):
        outcome_path.unlink()
    return outcome


def _main(argv: list[str]) -> None:
    """`python -m runner.sweep.worker JOB_JSON OUTCOME_FILE` (used by `run_subprocess`)."""
    import json

    from runner.lease import write_atomically

    job = Job(**{**json.loads(argv[0]), "maps_dirs": tuple(json.loads(argv[0])["maps_dirs"])})
    parent = os.environ.get("RUNNER_SWEEP_PARENT")
    _die_with_parent(int(parent) if parent else None)
    _redirect_output(job.log_path)
    outcome = run_job(job)
    write_atomically(Path(argv[1]), json.dumps(dataclasses.asdict(outcome)))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    _main(sys.argv[1:])
