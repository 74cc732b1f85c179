"""A run never hangs: a stuck tick and a dead server both end as clean failed runs.

The runner is a separate process (as a user runs it); a fault hook makes one tick
block forever, which is what carla#9172 does to the 0.9.16 client. The server is then
inspected with a fresh client: no actor of the run left, asynchronous mode.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from runner.sim.process import EmbeddedServer
from tests.test_faults import (
    assert_frames_intact,
    assert_server_clean,
    fresh_server,  # noqa: F401  (fixture)
    manifest,
    runner_process,
    wait_for_frames,
)

DEADLINE_S = 2.0


@pytest.mark.timeout(120)
def test_a_tick_that_never_returns_ends_the_run_cleanly(
    fresh_server: EmbeddedServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {"RUNNER_FAULT_BLOCK_TICK": "6", "RUNNER_TICK_DEADLINE_S": str(DEADLINE_S)}
    started = time.monotonic()
    with runner_process(fresh_server, tmp_path, env) as process:
        _, stderr = process.communicate(timeout=90)
    assert process.returncode == 1, stderr
    assert "did not return within 2 s" in stderr
    assert "carla#9172" in stderr  # the scenario drives traffic through a Traffic Manager
    assert time.monotonic() - started < 60
    (run_dir,) = tmp_path.glob("*/*")
    data = manifest(run_dir)
    assert data["status"] == "failed" and data["client_stuck"] is True
    stacks = (run_dir / "stalled-stacks.txt").read_text()
    assert "_block_forever" in stacks  # the stuck thread's own frame
    assert json.loads((run_dir / "lease.json").read_text())["released"] is True
    assert_frames_intact(run_dir)
    assert_server_clean(fresh_server)


@pytest.mark.timeout(150)
def test_a_server_killed_mid_run_ends_the_run_promptly(tmp_path: Path) -> None:
    with EmbeddedServer() as server, runner_process(server, tmp_path) as process:
        run_dir = wait_for_frames(process, tmp_path, 3)
        assert server._proc is not None
        server._proc.send_signal(signal.SIGKILL)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=120)
        took_s = time.monotonic() - started
    assert process.returncode == 1, stderr  # not an abort (134) from a Traffic Manager
    assert "stopped answering" in stderr
    assert took_s < 60
    data = manifest(run_dir)
    assert data["status"] == "failed"
    assert_frames_intact(run_dir)
