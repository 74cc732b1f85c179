"""Fault injection: the runner is a separate process; the server must end up clean.

Each test starts its own embedded server and a `python -m runner run` against it,
breaks the run (an exception at a random tick, SIGINT, SIGTERM, `kill -9` followed
by `scenario cleanup`) and then inspects the server with a fresh client: no
vehicle, sensor or prop of the run left, asynchronous mode, and every image
written before the fault is a complete PNG.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import carla
import pytest
from PIL import Image

from runner.sim.process import EmbeddedServer
from tests.test_cleanup import leftovers

REPO = Path(__file__).resolve().parents[1]
SCENARIO = Path(__file__).parent / "fault_scenarios" / "gridtown_cameras.yaml"
IMAGE_SIZE = (64, 48)
WAIT_S = 120.0
EXIT_INTERRUPTED = 130


@pytest.fixture()
def fresh_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer() as server:
        yield server


@contextmanager
def runner_process(
    server: EmbeddedServer, out: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`python -m runner run SCENARIO` against `server`; killed on the way out if still alive."""
    command = [sys.executable, "-m", "runner", "run", str(SCENARIO), "--out", str(out)]
    command += ["--host", server.host, "--port", str(server.port)]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=WAIT_S)


def wait_for_frames(process: subprocess.Popen[str], out: Path, count: int) -> Path:
    """The run folder, once `count` front images are on disk."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for run_dir in out.glob("*/*"):
            if len(list((run_dir / "front").glob("*.png"))) >= count:
                return run_dir
        time.sleep(0.05)
    raise AssertionError(f"no {count} frames under {out} within {WAIT_S} s")


def observer(server: EmbeddedServer) -> Any:
    client = carla.Client(server.host, server.port)
    client.set_timeout(20.0)
    return client.get_world()


def assert_server_clean(server: EmbeddedServer) -> None:
    world = observer(server)
    assert world.get_settings().synchronous_mode is False
    assert leftovers(world) == []


def assert_frames_intact(run_dir: Path) -> dict[str, int]:
    """Every PNG under its final name decodes completely; returns the count per sensor."""
    counts = {}
    for sensor in ("front", "depth"):
        files = sorted((run_dir / sensor).glob("*.png"))
        for path in files:
            with Image.open(path) as image:
                image.load()
                assert image.size == IMAGE_SIZE, path
        counts[sensor] = len(files)
    return counts


def manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text())


def assert_manifest_matches_disk(run_dir: Path, status: str) -> None:
    data = manifest(run_dir)
    on_disk = assert_frames_intact(run_dir)
    assert data["status"] == status
    assert {name: data["sensors"][name]["written"] for name in on_disk} == on_disk
    assert json.loads((run_dir / "lease.json").read_text())["released"] is True


def test_exception_at_a_random_tick(fresh_server: EmbeddedServer, tmp_path: Path) -> None:
    fault_at = random.randint(2, 60)
    env = {"RUNNER_FAULT_AT_TICK": str(fault_at)}
    with runner_process(fresh_server, tmp_path, env) as process:
        _, stderr = process.communicate(timeout=WAIT_S)
    assert process.returncode == 1, stderr
    assert f"injected fault at tick {fault_at}" in stderr
    (run_dir,) = tmp_path.glob("*/*")
    assert_manifest_matches_disk(run_dir, "failed")
    assert manifest(run_dir)["sensors"]["front"]["written"] == fault_at + 1
    assert_server_clean(fresh_server)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run(fresh_server: EmbeddedServer, tmp_path: Path, signum: int) -> None:
    with runner_process(fresh_server, tmp_path) as process:
        run_dir = wait_for_frames(process, tmp_path, 5)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=WAIT_S)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert_manifest_matches_disk(run_dir, "interrupted")
    assert_server_clean(fresh_server)


def test_kill_9_then_scenario_cleanup(fresh_server: EmbeddedServer, tmp_path: Path) -> None:
    with runner_process(fresh_server, tmp_path) as process:
        run_dir = wait_for_frames(process, tmp_path, 5)
        process.kill()
        process.wait(timeout=WAIT_S)
    assert_frames_intact(run_dir)
    assert wait_until_asynchronous(fresh_server), "the server's client-gone rule did not fire"
    assert leftovers(observer(fresh_server)), "the killed run should have left actors behind"

    cleanup = subprocess.run(
        [sys.executable, "-m", "runner", "cleanup", str(run_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert cleanup.returncode == 0, cleanup.stderr
    assert_server_clean(fresh_server)
    assert json.loads((run_dir / "lease.json").read_text())["released"] is True


def wait_until_asynchronous(server: EmbeddedServer) -> bool:
    deadline = time.monotonic() + WAIT_S
    world = observer(server)
    while world.get_settings().synchronous_mode:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
