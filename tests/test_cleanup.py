"""`cleanup_run`: removing what a run left behind, from its lease file, on a real server."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import carla
import pytest

from runner.cleanup import cleanup_run
from runner.errors import RunError
from runner.interrupts import Interrupts
from runner.lease import Lease, LeasedActor, LeaseFile, read_lease, unreleased_runs
from runner.sim.process import EmbeddedServer
from runner.world_ops import settings_to_dict

RUN_KINDS = ("vehicle", "sensor", "static")


def leftovers(world: Any) -> list[str]:
    """Type ids of run-kind actors (vehicles, sensors, props) on the server."""
    return sorted(a.type_id for a in world.get_actors() if a.type_id.split(".")[0] in RUN_KINDS)


@pytest.fixture()
def fresh_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer() as server:
        yield server


def connect(server: EmbeddedServer) -> Any:
    client = carla.Client(server.host, server.port)
    client.set_timeout(20.0)
    return client


def spawn_like_a_run(client: Any) -> tuple[list[LeasedActor], dict[str, Any]]:
    """Spawn a vehicle, a camera on it and a prop, then switch to synchronous mode."""
    world = client.get_world()
    library = world.get_blueprint_library()
    vehicle = world.spawn_actor(
        library.find("vehicle.tesla.model3"), world.get_map().get_spawn_points()[0]
    )
    camera = world.spawn_actor(library.find("sensor.camera.rgb"), carla.Transform(), vehicle)
    prop = world.spawn_actor(library.find("static.prop.streetbarrier"), carla.Transform())
    original = settings_to_dict(world.get_settings())
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    leased = [
        LeasedActor(vehicle.id, vehicle.type_id, "ego"),
        LeasedActor(camera.id, camera.type_id, "sensor:front"),
        LeasedActor(prop.id, prop.type_id, "prop"),
    ]
    return leased, original


def write_lease(run_dir: Path, lease: Lease) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    LeaseFile(run_dir, lease)


def test_cleanup_destroys_leased_actors_and_restores_async(
    fresh_server: EmbeddedServer, tmp_path: Path
) -> None:
    client = connect(fresh_server)
    leased, original = spawn_like_a_run(client)
    run_dir = tmp_path / "scn" / "run1"
    lease = Lease(fresh_server.host, fresh_server.port, None, tuple(leased), original)
    write_lease(run_dir, lease)

    report = cleanup_run(run_dir)

    observer = connect(fresh_server).get_world()
    assert observer.get_settings().synchronous_mode is False
    assert leftovers(observer) == []
    (result,) = report.results
    assert sorted(a.type_id for a in result.destroyed) == sorted(a.type_id for a in leased)
    assert result.settings_restored
    released = read_lease(run_dir)
    assert released is not None and released.released and released.actors == ()
    assert any("destroyed 3 actor(s)" in line for line in report.summary_lines())


def test_cleanup_leaves_an_actor_whose_id_now_names_something_else(
    fresh_server: EmbeddedServer, tmp_path: Path
) -> None:
    client = connect(fresh_server)
    world = client.get_world()
    prop = world.spawn_actor(
        world.get_blueprint_library().find("static.prop.streetbarrier"), carla.Transform()
    )
    run_dir = tmp_path / "run"
    stale = LeasedActor(prop.id, "vehicle.audi.tt", "vehicle")
    write_lease(run_dir, Lease(fresh_server.host, fresh_server.port, None, (stale,)))

    (result,) = cleanup_run(run_dir).results

    assert result.destroyed == () and result.already_gone == 1
    assert leftovers(connect(fresh_server).get_world()) == ["static.prop.streetbarrier"]


def test_cleanup_of_a_released_run_does_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_lease(run_dir, Lease("127.0.0.1", 1, None, released=True))
    (result,) = cleanup_run(run_dir).results
    assert result.nothing_to_do


def test_cleanup_of_an_outputs_folder_visits_only_unreleased_runs(
    fresh_server: EmbeddedServer, tmp_path: Path
) -> None:
    done = tmp_path / "a" / "run-1"
    pending = tmp_path / "b" / "run-2"
    write_lease(done, Lease("127.0.0.1", 1, None, released=True))
    write_lease(pending, Lease(fresh_server.host, fresh_server.port, None))
    assert unreleased_runs(tmp_path) == [pending]

    report = cleanup_run(tmp_path)

    assert [r.run_dir for r in report.results] == [pending]
    assert unreleased_runs(tmp_path) == []
    assert cleanup_run(tmp_path).summary_lines() == [f"{tmp_path}: no run left anything behind"]


def test_cleanup_stops_the_runs_own_embedded_server(tmp_path: Path) -> None:
    with EmbeddedServer() as orphan:
        run_dir = tmp_path / "run"
        write_lease(run_dir, Lease(orphan.host, orphan.port, orphan.pid))
        (result,) = cleanup_run(run_dir).results
        assert result.server_stopped
        process = orphan._proc
        assert process is not None
        assert process.wait(timeout=30) is not None


def test_cleanup_without_a_lease_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "lease.json").write_text("{not json")
    with pytest.raises(RunError, match=str(tmp_path)):
        cleanup_run(tmp_path)
    with pytest.raises(RunError, match="no such run folder"):
        cleanup_run(tmp_path / "missing")


def test_lease_file_is_rewritten_on_every_change(tmp_path: Path) -> None:
    lease_file = LeaseFile(tmp_path, Lease("h", 2000, 42, run_id="r"))
    lease_file.add_actors([LeasedActor(7, "vehicle.audi.tt", "ego")])
    lease_file.update(traffic_manager_port=8123)
    on_disk = json.loads((tmp_path / "lease.json").read_text())
    assert on_disk["server"] == {"host": "h", "port": 2000, "embedded_pid": 42}
    assert on_disk["actors"] == [{"id": 7, "type_id": "vehicle.audi.tt", "role": "ego"}]
    lease_file.remove_actors({7})
    assert read_lease(tmp_path) == Lease("h", 2000, 42, (), None, 8123, False, "r")
    assert not list(tmp_path.glob(".lease.json.*"))


def test_signals_raise_only_when_armed_and_wait_for_a_deferred_section() -> None:
    order: list[str] = []
    interrupts = Interrupts()
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), interrupts, interrupts.armed():
        with interrupts.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            order.append("registered")  # the acquisition's undo is recorded first
        order.append("not reached")
    assert order == ["registered"]

    with pytest.raises(KeyboardInterrupt, match="SIGINT"), Interrupts():
        os.kill(os.getpid(), signal.SIGINT)  # not armed: held until the block ends
        order.append("teardown finished")
    assert order[-1] == "teardown finished"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
