"""CI form of the Traffic Manager soak (issue 8): generate_traffic.py's flow, 3 runs in a row.

Each run is `bench/tm_soak.py`'s flow in its own child process on one embedded server
driven by our Traffic Manager: synchronous settings, `tm.set_synchronous_mode(True)`, a
`SpawnActor(...).then(SetAutopilot(FutureActor, True, port))` batch sent with
`apply_batch_sync(cmds, False)`, 1,500 `world.tick()` calls, a `DestroyActor` batch,
`tm.shut_down()`, asynchronous settings back. A run hangs when its tick count stands
still for STALL_S (each `world.tick()` also has the client's own 10 s limit); the bench
kills it and the test fails. The full soak (5 x 20,000 ticks) is the bench itself.
"""

from __future__ import annotations

import pytest

from bench.tm_soak import MAPS, soak
from tests.conftest import require_town, shared_maps_dir

RUNS = 3
TICKS = 1500
CARS = 50
STALL_S = 20.0

_ = MAPS  # the bench's default; tests use the shared maps folder the fixtures use


@pytest.mark.timeout(240)
def test_generate_traffic_flow_runs_back_to_back_without_hang_or_leak() -> None:
    require_town("Town03")
    runs = soak("server", RUNS, TICKS, CARS, STALL_S, str(shared_maps_dir()), quiet=True)
    for run in runs:
        assert run.outcome == "ok", f"run {run.index}: {run.outcome} after {run.ticks_done} ticks"
        assert run.ticks_done == TICKS
        assert run.leaked == 0, f"run {run.index} left {run.leaked} actors"
        assert not run.synchronous_after
        assert run.median_moved_m > 20.0, "the traffic did not drive"
