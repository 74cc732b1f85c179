"""End-to-end sweeps: `python -m runner.sweep` as its own process, real servers.

The sweep runs 4 small variants (2 maps x 2 weathers) on 2 workers, with embedded
servers or with two servers the test starts (`--server`), so that what a killed
sweep leaves behind can be looked at with a fresh client. Resume is checked by
re-running the same command: variants that completed keep their one run folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import carla
import pytest

from runner.sim.process import EmbeddedServer
from tests.test_cleanup import leftovers

REPO = Path(__file__).resolve().parents[1]
WAIT_S = 150.0
EXIT_INTERRUPTED = 130
LONG_TICKS = 150
"""Ticks per variant where a sweep is stopped mid-way (a few seconds each)."""

TEMPLATE = """\
{# sweep:
  seed: 5
  grid:
    map: [GridTown, CrossTown]
    weather: [ClearNoon, HardRainNoon]
#}
name: e2e
map: {{ map }}
weather: {{ weather }}
actors:
  ego: {blueprint: vehicle.tesla.model3, spawn_point: 0, autopilot: true}
  vehicles: {count: 2}
sensors:
  front:
    type: rgb
    transform: {x: 1.5, z: 2.4}
    attributes: {image_size_x: 64, image_size_y: 48}
run: {ticks: 10, warmup_ticks: 1}
export:
  images: {front: raw}
"""
NAMES = [
    f"e2e/map={m},weather={w}"
    for m in ("GridTown", "CrossTown")
    for w in ("ClearNoon", "HardRainNoon")
]


def sweep_file(tmp_path: Path, text: str = TEMPLATE) -> Path:
    path = tmp_path / "e2e.yaml.j2"
    path.write_text(text)
    return path


def sweep_command(path: Path, out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "runner.sweep", str(path), "--out", str(out), *args]


@contextmanager
def sweep_process(command: list[str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=WAIT_S)


def run_sweep(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=WAIT_S)


def index(out: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((out / "e2e" / "sweep.json").read_text())
    return {v["name"]: v for v in data["variants"]}


def attempts(out: Path, name: str) -> list[Path]:
    folder = out / "e2e" / name.split("/", 1)[1]
    return sorted(p for p in folder.iterdir() if p.is_dir())


def manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text())


def started(stdout: str) -> list[str]:
    return [line.split()[1] for line in stdout.splitlines() if line.startswith("started ")]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def safe_index(out: Path) -> dict[str, dict[str, Any]]:
    try:
        return index(out)
    except (OSError, ValueError):
        return {}


def midway(out: Path) -> bool:
    """One variant done and another one early in its tick loop (of LONG_TICKS)."""
    rows = safe_index(out)
    done = [r for r in rows.values() if r["status"] == "ok"]
    running = [r for r in rows.values() if r["status"] == "running"]
    frames = [len(list((out / "e2e" / r["folder"]).glob("*/front/*.png"))) for r in running]
    return bool(done) and any(3 <= n <= LONG_TICKS // 2 for n in frames)


def assert_clean(*servers: EmbeddedServer) -> None:
    for server in servers:
        client = carla.Client(server.host, server.port)
        client.set_timeout(20.0)
        world = client.get_world()
        assert world.get_settings().synchronous_mode is False
        assert leftovers(world) == [], f"actors left on {server.host}:{server.port}"


def assert_resumed(out: Path, completed: set[str], stdout: str) -> None:
    """Only the variants not complete before ran again; all are complete now."""
    assert sorted(started(stdout)) == sorted(set(NAMES) - completed)
    rows = index(out)
    assert {n: r["status"] for n, r in rows.items()} == {
        n: ("cached" if n in completed else "ok") for n in NAMES
    }
    for name in completed:
        assert len(attempts(out, name)) == 1, name
    for name in NAMES:
        assert manifest(Path(rows[name]["run_dir"]))["status"] == "ok"


@pytest.fixture(scope="module")
def two_servers() -> Iterator[tuple[EmbeddedServer, EmbeddedServer]]:
    with EmbeddedServer() as first, EmbeddedServer() as second:
        yield first, second


def server_args(servers: tuple[EmbeddedServer, EmbeddedServer]) -> list[str]:
    return [arg for s in servers for arg in ("--server", f"{s.host}:{s.port}")]


@pytest.mark.timeout(200)
def test_four_variants_on_two_workers_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_sweep(sweep_command(sweep_file(tmp_path), out, "--workers", "2"))
    assert result.returncode == 0, result.stderr
    events = [line.split()[0] for line in result.stdout.splitlines()[1:5]]
    assert events[:2] == ["started", "started"], result.stdout  # two at once
    rows = index(out)
    assert sorted(rows) == sorted(NAMES)
    ports, pids = set(), []
    for name, row in rows.items():
        assert row["status"] == "ok", row
        (run_dir,) = attempts(out, name)
        data = manifest(run_dir)
        assert data["ticks_done"] == 10 and row["frames"] == 10
        assert data["seed"] == row["seed"]
        assert data["scenario"]["sha256"] == row["scenario_sha256"]
        assert data["server"]["embedded"] is True
        ports.add(data["traffic_manager_port"])
        pids.append(data["server"]["embedded_pid"])
    assert len(ports) == 2  # each worker has its own Traffic Manager port
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    table = result.stdout.splitlines()[-6:]
    assert table[0].split() == ["variant", "status", "ticks", "frames", "annotations", "wall"]


@pytest.mark.timeout(300)
def test_sigint_midway_then_resume(
    tmp_path: Path, two_servers: tuple[EmbeddedServer, EmbeddedServer]
) -> None:
    out = tmp_path / "out"
    command = sweep_command(sweep_file(tmp_path), out, *server_args(two_servers))
    with sweep_process([*command, "--set", f"run.ticks={LONG_TICKS}"]) as process:
        wait_until(lambda: midway(out), "a variant done and another running")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=WAIT_S)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    statuses = {n: r["status"] for n, r in index(out).items()}
    assert "interrupted" in statuses.values(), statuses
    assert "SIGINT: stopping" in stdout and "\nINTERRUPTED " in stdout
    assert_clean(*two_servers)  # the workers tore their runs down
    completed = {n for n, s in statuses.items() if s == "ok"}

    result = run_sweep([*command, "--set", f"run.ticks={LONG_TICKS}"])
    assert result.returncode == 0, result.stderr
    assert_resumed(out, completed, result.stdout)
    assert_clean(*two_servers)


@pytest.mark.timeout(300)
def test_kill_9_of_the_sweep_then_resume(
    tmp_path: Path, two_servers: tuple[EmbeddedServer, EmbeddedServer]
) -> None:
    out = tmp_path / "out"
    command = [*sweep_command(sweep_file(tmp_path), out, *server_args(two_servers))]
    command += ["--set", f"run.ticks={LONG_TICKS}"]
    with sweep_process(command) as process:
        wait_until(lambda: midway(out), "a variant done and another running")
        workers = worker_pids(process.pid)
        process.kill()
    assert workers
    # The workers got SIGTERM from the kernel (parent death) and unwound their runs.
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), "workers")
    assert_clean(*two_servers)
    completed = {n for n, r in index(out).items() if r["status"] == "ok"}
    assert len(completed) < len(NAMES)

    result = run_sweep(command)
    assert result.returncode == 0, result.stderr
    assert_resumed(out, completed, result.stdout)
    assert_clean(*two_servers)


@pytest.mark.timeout(300)
def test_kill_9_of_sweep_and_workers_cleans_up_through_leases(
    tmp_path: Path, two_servers: tuple[EmbeddedServer, EmbeddedServer]
) -> None:
    out = tmp_path / "out"
    command = [*sweep_command(sweep_file(tmp_path), out, *server_args(two_servers))]
    command += ["--set", f"run.ticks={LONG_TICKS}"]
    with sweep_process(command) as process:
        wait_until(lambda: midway(out), "a variant done and another running")
        workers = worker_pids(process.pid)
        for pid in [process.pid, *workers]:
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), "workers")
    left = [leftovers(world_of(s)) for s in two_servers]
    assert any(left), "a run killed mid-way should have left its actors"
    completed = {n for n, r in index(out).items() if r["status"] == "ok"}

    result = run_sweep(command)
    assert result.returncode == 0, result.stderr
    assert "resume: " in result.stdout and "cleaned up" in result.stdout
    assert_resumed(out, completed, result.stdout)
    assert_clean(*two_servers)


@pytest.mark.timeout(200)
def test_a_bad_map_is_reported_at_once_and_the_rest_complete(tmp_path: Path) -> None:
    (tmp_path / "broken.xodr").write_text("<OpenDRIVE><header></OpenDRIVE>")
    text = TEMPLATE.replace("[GridTown, CrossTown]", "[broken.xodr, GridTown, CrossTown]")
    text = text.replace("weather: [ClearNoon, HardRainNoon]", "weather: [ClearNoon]")
    out = tmp_path / "out"
    result = run_sweep(sweep_command(sweep_file(tmp_path, text), out, "--workers", "2"))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    failed = [i for i, line in enumerate(lines) if line.startswith("FAILED ")]
    oks = [i for i, line in enumerate(lines) if line.startswith("ok ")]
    assert len(failed) == 1 and len(oks) == 2, result.stdout
    assert "map=broken.xodr" in lines[failed[0]] and "OpenDRIVE" in lines[failed[0]]
    assert failed[0] < oks[-1]  # reported while another variant was still running
    statuses = {n: r["status"] for n, r in index(out).items()}
    assert statuses == {
        "e2e/map=broken.xodr,weather=ClearNoon": "failed",
        "e2e/map=GridTown,weather=ClearNoon": "ok",
        "e2e/map=CrossTown,weather=ClearNoon": "ok",
    }


@pytest.mark.timeout(60)
def test_a_template_error_is_reported_with_its_line_before_anything_runs(
    tmp_path: Path,
) -> None:
    text = TEMPLATE.replace(
        "weather: {{ weather }}\n",
        "weather: {{ weather }}\n"
        "{% if map == 'CrossTown' %}\nworld: {fixed_delta: 1}\n{% endif %}\n",
    )
    path = sweep_file(tmp_path, text)
    out = tmp_path / "out"
    result = run_sweep(sweep_command(path, out))
    assert result.returncode == 2, result.stdout
    first = result.stderr.splitlines()[0]
    assert first.startswith("e2e/map=CrossTown,weather=ClearNoon, e2e/map=CrossTown,weather=Hard")
    assert f"{path}:11:9: world.fixed_delta: unknown key 'fixed_delta'" in first
    assert "rendered line 4: world: {fixed_delta: 1}" in result.stderr
    assert not out.exists()  # nothing was prepared, let alone run


def worker_pids(pid: int) -> list[int]:
    """The sweep's worker processes (its spawned children)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = []
    for child in map(int, children):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            found.append(child)
    return found


def world_of(server: EmbeddedServer) -> Any:
    client = carla.Client(server.host, server.port)
    client.set_timeout(20.0)
    return client.get_world()
