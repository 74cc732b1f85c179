"""Which Traffic Manager drives a run: the simulator's by default, CARLA's on request.

Each run starts its own embedded server (the `served_by` choice is a server option) and
drives three autopilot cars; the run completes and its manifest and summary say which
TM it was (tests/test_tm_*.py test how each TM drives).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import carla
import pytest

from runner.compile import compile_plan
from runner.execute import run_plan
from runner.load import load_scenario
from runner.session import listens_in_this_process
from runner.sim.process import READY_PREFIX, EmbeddedServer

SCENARIO = """\
name: tm_{served_by}
map: GridTown
seed: 3
actors:
  ego: {{blueprint: vehicle.tesla.model3, spawn_point: 0, autopilot: true}}
  vehicles: {{count: 3}}
traffic_manager: {{served_by: {served_by}}}
run: {{ticks: 60}}
"""


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("served_by", "words"), [("simulator", "embedded"), ("client", "in-client")]
)
def test_the_manifest_says_which_traffic_manager_drove(
    tmp_path: Path, served_by: str, words: str
) -> None:
    path = tmp_path / f"tm_{served_by}.yaml"
    path.write_text(SCENARIO.format(served_by=served_by))
    plan = compile_plan(load_scenario(path), source=path)
    result = run_plan(plan, out_dir=tmp_path / "out")
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["status"] == "ok"
    assert manifest["traffic_manager"] == served_by
    assert any(words in line for line in result.summary_lines())
    assert manifest["spawned"].get("vehicles") == 3


@pytest.mark.timeout(180)
def test_a_run_on_a_named_server_that_serves_the_tm_is_its_remote(
    tmp_path: Path, server: EmbeddedServer
) -> None:
    """Told only host:port, the runner finds out from the socket that it is a remote."""
    path = tmp_path / "tm_remote.yaml"
    path.write_text(SCENARIO.format(served_by="simulator"))
    plan = compile_plan(load_scenario(path), source=path)
    result = run_plan(plan, host=server.host, port=server.port, out_dir=tmp_path / "out")
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["status"] == "ok"
    assert manifest["traffic_manager"] == "remote"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("flags", "in_client"), [((), False), (("--client-traffic-manager",), True)]
)
def test_scenario_server_serves_the_tm_unless_told_not_to(
    flags: tuple[str, ...], in_client: bool
) -> None:
    """`scenario server`: the client's TM is a remote of ours, or CARLA's own in-client TM."""
    port, tm_port = _free_port(), _free_port()
    command = [sys.executable, "-m", "runner", "server", "--port", str(port), *flags]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if line.startswith(READY_PREFIX):
                break
        client = carla.Client("127.0.0.1", port)
        client.set_timeout(20.0)
        tm = client.get_trafficmanager(tm_port)
        try:
            assert listens_in_this_process(tm_port) is in_client
        finally:
            tm.shut_down()  # an in-client TM must not outlive its server
    finally:
        server.terminate()
        server.wait(timeout=30)
