"""Soak of CARLA's generate_traffic.py flow (issue 8 acceptance): hangs, rate, leaks, memory.

Each run, in its own child process on one shared embedded server: synchronous settings,
`tm.set_synchronous_mode(True)`, one batch of `SpawnActor(...).then(SetAutopilot(
FutureActor, True, port))` sent with `apply_batch_sync(cmds, False)` (never True:
docs/reliability.md), a `world.tick()` loop, a batch of `DestroyActor`, `tm.shut_down()`,
asynchronous settings restored. The child reports its tick count every few hundred ticks;
a run whose count stops moving for `--stall-s` is a hang (the in-client TM's carla#9172
leaves `world.tick()` blocked forever, deaf to SIGINT), is killed, and the server is
cleaned from a fresh client. After every run a fresh client counts leaked vehicles and
checks the world is asynchronous again; the server's RSS is read from /proc.

    python bench/tm_soak.py [--runs 5] [--ticks 20000] [--cars 50] [--tm server|client]

`--tm client` starts the server with RUNNER_SIM_CLIENT_TM=1: CARLA's in-client TM drives.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MAPS = ROOT.parent / "shared" / "maps"
CLIENT_TM_ENV = "RUNNER_SIM_CLIENT_TM"
TM_PORT = 8000  # generate_traffic.py's default
PROGRESS_EVERY = 200


@dataclass(frozen=True)
class Watched:
    """What a watched child printed, and whether it was killed for standing still."""

    lines: list[str]
    hung: bool  # killed: no progress for stall_s (or past the deadline)
    returncode: int | None
    last_progress: int
    stderr_tail: str = ""


def run_watched(cmd: list[str], stall_s: float, deadline_s: float) -> Watched:
    """Run `cmd`; kill it when no 'PROGRESS n' line came for stall_s, or past deadline_s.

    Reading happens on a thread so that the wait itself has a deadline; the child is
    killed with SIGKILL because a client hung in the in-client TM ignores SIGTERM.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []

    def read_errors() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            errors.append(line)
            del errors[:-20]

    threading.Thread(target=read_errors, daemon=True).start()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            got.put(line.rstrip("\n"))
        got.put(None)

    threading.Thread(target=read, daemon=True).start()
    lines: list[str] = []
    began = last = time.monotonic()
    progress, hung = -1, False
    while True:
        now = time.monotonic()
        if now - last > stall_s or now - began > deadline_s:
            hung = True
            break
        try:
            line = got.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        lines.append(line)
        if line.startswith("PROGRESS "):
            progress, last = int(line.split()[1]), time.monotonic()
    if hung:
        proc.kill()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    return Watched(lines, hung, proc.returncode, progress, "".join(errors[-20:]))


def result_of(watched: Watched) -> dict[str, Any] | None:
    for line in watched.lines:
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    return None


# -- the flow, as generate_traffic.py writes it (runs in the child) ------------------------
def traffic_flow(
    host: str, port: int, cars: int, ticks: int, seed: int, tm_port: int = TM_PORT
) -> dict[str, Any]:
    """generate_traffic.py's calls; prints PROGRESS lines; returns the run's figures."""
    import carla

    client = carla.Client(host, port)
    client.set_timeout(30.0)
    world = client.get_world()
    if world.get_map().name.split("/")[-1] != "Town03":
        world = client.load_world("Town03")
    tm = client.get_trafficmanager(tm_port)
    tm.set_global_distance_to_leading_vehicle(2.5)
    tm.set_random_device_seed(seed)
    original = world.get_settings()
    settings = world.get_settings()
    tm.set_synchronous_mode(True)
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    ids: list[int] = []
    rate = 0.0
    done = 0
    moved: list[float] = []
    try:
        blueprints = [
            bp
            for bp in world.get_blueprint_library().filter("vehicle.*")
            if int(bp.get_attribute("number_of_wheels")) == 4
        ]
        points = world.get_map().get_spawn_points()
        rng = random.Random(seed)
        rng.shuffle(points)
        batch = []
        for point in points[:cars]:
            bp = rng.choice(blueprints)
            if bp.has_attribute("color"):
                bp.set_attribute("color", rng.choice(bp.get_attribute("color").recommended_values))
            bp.set_attribute("role_name", "autopilot")
            batch.append(
                carla.command.SpawnActor(bp, point).then(
                    carla.command.SetAutopilot(carla.command.FutureActor, True, tm.get_port())
                )
            )
        ids = [r.actor_id for r in client.apply_batch_sync(batch, False) if not r.error]
        world.tick()
        start = {a.id: a.get_location() for a in world.get_actors(ids)}
        print(f"PROGRESS 0 spawned {len(ids)}", flush=True)
        began = time.perf_counter()
        for tick in range(1, ticks + 1):
            world.tick()
            done = tick
            if tick % PROGRESS_EVERY == 0:
                print(f"PROGRESS {tick}", flush=True)
        rate = ticks / (time.perf_counter() - began)
        moved = [a.get_location().distance(start[a.id]) for a in world.get_actors(ids)]
    finally:
        client.apply_batch([carla.command.DestroyActor(i) for i in ids])
        world.tick()  # the destroy batch takes effect with a tick in synchronous mode
        tm.set_synchronous_mode(False)
        tm.shut_down()
        world.apply_settings(original)
    moved.sort()
    return {
        "spawned": len(ids),
        "ticks": done,
        "ticks_per_s": rate,
        "median_moved_m": moved[len(moved) // 2] if moved else 0.0,
    }


def cleanup(host: str, port: int) -> dict[str, Any]:
    """From a fresh client: destroy what a run left, restore async; say what was left."""
    import carla

    client = carla.Client(host, port)
    client.set_timeout(30.0)
    world = client.get_world()
    left = [a.id for a in world.get_actors() if a.type_id.startswith(("vehicle.", "sensor."))]
    if left:
        client.apply_batch_sync([carla.command.DestroyActor(i) for i in left], False)
    settings = world.get_settings()
    was_sync = bool(settings.synchronous_mode)
    if was_sync:
        settings.synchronous_mode = False
        settings.fixed_delta_seconds = None
        world.apply_settings(settings)
    if left and was_sync:
        world.wait_for_tick(10.0)
    return {"leaked": len(left), "synchronous_after": was_sync}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


@dataclass(frozen=True)
class Run:
    index: int
    outcome: str  # "ok", "hang" (no tick progress for stall_s: killed) or "failed"
    ticks_done: int
    ticks_per_s: float
    median_moved_m: float
    leaked: int  # vehicles or sensors the run's own teardown left (a killed run's included)
    synchronous_after: bool
    rss_mb: float
    seconds: float
    error: str = ""

    @property
    def hung(self) -> bool:
        return self.outcome != "ok"


def soak(
    tm: str,
    runs: int,
    ticks: int,
    cars: int,
    stall_s: float,
    maps_dir: str,
    quiet: bool = False,
    tm_port: int = TM_PORT,
) -> list[Run]:
    """`runs` flows back to back on one server; each a watched child.

    After a run that did not end cleanly the server is replaced, so that each run starts
    from a server no killed client has touched (the cleanup alone was enough in the
    runs measured; the fresh server only keeps runs independent).
    """
    from runner.sim.process import EmbeddedServer

    if tm == "client":
        os.environ[CLIENT_TM_ENV] = "1"
    else:
        os.environ.pop(CLIENT_TM_ENV, None)
    out: list[Run] = []
    server = EmbeddedServer(maps_dirs=[maps_dir]).start()
    try:
        for index in range(runs):
            run = _one_run(server, index, ticks, cars, stall_s, tm_port)
            out.append(run)
            if not quiet:
                print(f"run {index + 1}/{runs} [{tm} TM]: {_describe(run)}", flush=True)
            if run.hung:
                server.stop()
                server = EmbeddedServer(maps_dirs=[maps_dir]).start()
    finally:
        server.stop()
    return out


def _one_run(server: Any, index: int, ticks: int, cars: int, stall_s: float, tm_port: int) -> Run:
    began = time.monotonic()
    host, port, pid = server.host, server.port, server.pid
    cmd = [sys.executable, __file__, "--child", f"{host}:{port}", "--tm-port", str(tm_port)]
    cmd += ["--ticks", str(ticks), "--cars", str(cars), "--seed", str(index)]
    deadline = 120.0 + ticks / 20.0  # far beyond any healthy run (>= 20 ticks/s)
    watched = run_watched(cmd, stall_s, deadline)
    got = result_of(watched) or {}
    state = cleanup(host, port)
    outcome = "hang" if watched.hung else ("ok" if got else "failed")
    return Run(
        index=index,
        outcome=outcome,
        ticks_done=int(got.get("ticks", max(watched.last_progress, 0))),
        ticks_per_s=float(got.get("ticks_per_s", 0.0)),
        median_moved_m=float(got.get("median_moved_m", 0.0)),
        leaked=int(state["leaked"]),
        synchronous_after=bool(state["synchronous_after"]),
        rss_mb=rss_mb(pid),
        seconds=time.monotonic() - began,
        error="" if outcome == "ok" else _last_line(watched.stderr_tail),
    )


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _describe(run: Run) -> str:
    text = (
        f"{run.outcome.upper() if run.hung else 'ok'} after {run.ticks_done} ticks,"
        f" {run.ticks_per_s:.0f} ticks/s, median moved {run.median_moved_m:.0f} m,"
        f" leaked {run.leaked}, left synchronous {run.synchronous_after},"
        f" server RSS {run.rss_mb:.0f} MB, {run.seconds:.0f} s"
    )
    return text + (f" [{run.error}]" if run.error else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ticks", type=int, default=20000)
    parser.add_argument("--cars", type=int, default=50)
    parser.add_argument("--tm", choices=("server", "client"), default="server")
    parser.add_argument("--stall-s", type=float, default=60.0, help="no progress this long: hang")
    parser.add_argument("--tm-port", type=int, default=TM_PORT, help="get_trafficmanager's port")
    parser.add_argument("--maps-dir", default=str(MAPS))
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        host, port = args.child.rsplit(":", 1)
        got = traffic_flow(host, int(port), args.cars, args.ticks, args.seed, args.tm_port)
        print("RESULT " + json.dumps(got), flush=True)
        return
    runs = soak(
        args.tm, args.runs, args.ticks, args.cars, args.stall_s, args.maps_dir, tm_port=args.tm_port
    )
    healthy = [r for r in runs if not r.hung]
    summary = {
        "tm": args.tm,
        "runs": len(runs),
        "ticks_per_run": args.ticks,
        "cars": args.cars,
        "hangs": sum(r.outcome == "hang" for r in runs),
        "failed": sum(r.outcome == "failed" for r in runs),
        "leaked_actors": sum(r.leaked for r in runs),
        "left_synchronous": sum(r.synchronous_after for r in runs),
        "mean_ticks_per_s": sum(r.ticks_per_s for r in healthy) / max(len(healthy), 1),
        "server_rss_growth_mb": runs[-1].rss_mb - runs[0].rss_mb if runs else 0.0,
        "server_restarts": sum(r.hung for r in runs[:-1]),
        "runs_detail": [asdict(r) for r in runs],
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "runs_detail"}, indent=1))


if __name__ == "__main__":
    main()
