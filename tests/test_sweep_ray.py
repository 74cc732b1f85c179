"""The Ray path: the e2e sweep on a local Ray cluster that this module starts and stops.

The cluster is one head node (`ray start --head --block`, its own session, stopped by
its pid) on loopback addresses only, declaring one `carla:HOST:PORT` resource per
server the test starts. Skipped only when Ray is not installed (`pip install .[ray]`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.sim.process import EmbeddedServer
from tests.test_sweep_e2e import NAMES, REPO, assert_clean, index, sweep_command, sweep_file

pytest.importorskip("ray")

START_S = 120.0
LOOPBACK_ENV = {
    # Ray resolves "this node" to a routable address unless told it is a local-only
    # cluster; this keeps every Ray process and connection on 127.0.0.1.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[EmbeddedServer, EmbeddedServer]]:
    with EmbeddedServer() as first, EmbeddedServer() as second:
        yield first, second


@pytest.fixture(scope="module")
def ray_address(servers: tuple[EmbeddedServer, EmbeddedServer]) -> Iterator[str]:
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: unix socket paths
    resources = {f"carla:{s.host}:{s.port}": 1 for s in servers}
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block"]
    command += [f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2"]
    command += ["--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"]
    command += [f"--resources={json.dumps(resources)}"]
    log = (temp / "head.log").open("w")
    head = subprocess.Popen(
        command, env={**os.environ, **LOOPBACK_ENV}, stdout=log, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_S
        while "Ray runtime started" not in (temp / "head.log").read_text():
            assert head.poll() is None, (temp / "head.log").read_text()
            assert time.monotonic() < deadline, "the Ray head did not start"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops what it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, env={**os.environ, **LOOPBACK_ENV}, capture_output=True, text=True,
        timeout=240,
    )  # fmt: skip


@pytest.mark.timeout(300)
def test_ray_tasks_bound_to_endpoints(
    tmp_path: Path, ray_address: str, servers: tuple[EmbeddedServer, EmbeddedServer]
) -> None:
    out = tmp_path / "out"
    args = ["--ray", ray_address]
    for server in servers:
        args += ["--server", f"{server.host}:{server.port}"]
    result = run(sweep_command(sweep_file(tmp_path), out, *args))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = index(out)
    assert sorted(rows) == sorted(NAMES)
    assert {r["status"] for r in rows.values()} == {"ok"}
    used = {r["endpoint"] for r in rows.values()}
    assert used == {f"ray:{s.host}:{s.port}" for s in servers}
    for row in rows.values():
        data = json.loads((Path(row["run_dir"]) / "manifest.json").read_text())
        assert data["server"]["embedded"] is False
        assert f"ray:{data['server']['host']}:{data['server']['port']}" == row["endpoint"]
    assert_clean(*servers)

    again = run(sweep_command(sweep_file(tmp_path), out, *args))
    assert again.returncode == 0, again.stderr
    assert {r["status"] for r in index(out).values()} == {"cached"}


@pytest.mark.timeout(300)
def test_ray_tasks_with_embedded_servers(tmp_path: Path, ray_address: str) -> None:
    out = tmp_path / "out"
    command = sweep_command(sweep_file(tmp_path), out, "--ray", ray_address)
    result = run([*command, "--grid", "map=GridTown"])
    assert result.returncode == 0, result.stdout + result.stderr
    rows = index(out)
    assert len(rows) == 2 and {r["status"] for r in rows.values()} == {"ok"}
    for row in rows.values():
        data = json.loads((Path(row["run_dir"]) / "manifest.json").read_text())
        assert data["server"]["embedded"] is True and data["ticks_done"] == 10


@pytest.mark.timeout(120)
def test_a_missing_endpoint_resource_is_an_error(tmp_path: Path, ray_address: str) -> None:
    out = tmp_path / "out"
    command = sweep_command(sweep_file(tmp_path), out, "--ray", ray_address)
    result = run([*command, "--server", "127.0.0.1:1"])
    assert result.returncode == 1
    assert "no resource carla:127.0.0.1:1" in result.stderr
    assert "--resources=" in result.stderr
