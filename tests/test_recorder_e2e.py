"""The recorder through the real carla client, against the embedded server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import carla
import pytest

from runner import recorder as recording

TICKS = 40


@pytest.fixture()
def world(client: carla.Client) -> Iterator[carla.World]:
    world = client.get_world()
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    yield world
    client.stop_recorder()


@pytest.fixture()
def spawned(world: carla.World) -> Iterator[list[carla.Actor]]:
    """Actors a test spawns; destroyed afterwards, newest first."""
    actors: list[carla.Actor] = []
    yield actors
    for actor in reversed(actors):
        actor.destroy()


def spawn_vehicles(world: carla.World, count: int, spawned: list[carla.Actor]) -> list[carla.Actor]:
    library = world.get_blueprint_library()
    ids = ["vehicle.tesla.model3", "vehicle.audi.a2", "vehicle.nissan.micra"]
    points = world.get_map().get_spawn_points()
    vehicles = [world.spawn_actor(library.find(ids[k]), points[k]) for k in range(count)]
    spawned.extend(vehicles)
    return vehicles


def record(client: carla.Client, world: carla.World, path: Path) -> str:
    assert client.start_recorder(str(path)) == str(path)
    for _ in range(TICKS):
        world.tick()
    client.stop_recorder()
    return str(path)


def test_file_info_lists_the_vehicles_and_matches_the_offline_reader(
    client: carla.Client, world: carla.World, spawned: list[carla.Actor], tmp_path: Path
) -> None:
    vehicles = spawn_vehicles(world, 3, spawned)
    path = record(client, world, tmp_path / "run.log")
    text = client.show_recorder_file_info(path, False)
    assert text.startswith("Version: 2\nMap: GridTown\nDate: ")
    for vehicle in vehicles:
        assert f" Create {vehicle.id}: {vehicle.type_id} (1) at (" in text
    assert text.endswith(f"\nFrames: {TICKS}\nDuration: 1.95 seconds\n")
    assert recording.file_info(path) == text
    full = client.show_recorder_file_info(path, True)
    assert full.count(" Positions: ") == TICKS
    assert recording.file_info(path, show_all=True) == full
    blocked = client.show_recorder_actors_blocked(path, 1.0, 10.0)
    assert recording.actors_blocked(path, 1.0, 10.0) == blocked


def test_unwritable_file_gives_an_empty_path(client: carla.Client, tmp_path: Path) -> None:
    assert client.start_recorder(str(tmp_path / "missing-dir" / "run.log")) == ""
    missing = str(tmp_path / "none.log")
    assert client.show_recorder_collisions(missing, "a", "a") == (
        f"File {missing} not found on server\n"
    )


def test_collisions_lists_the_forced_overlap(
    client: carla.Client, world: carla.World, spawned: list[carla.Actor], tmp_path: Path
) -> None:
    pytest.importorskip("runner.sim.world.collisions", reason="collision detection not landed")
    first, second = spawn_vehicles(world, 2, spawned)
    library = world.get_blueprint_library()
    sensor = world.spawn_actor(
        library.find("sensor.other.collision"), carla.Transform(), attach_to=first
    )
    spawned.append(sensor)
    second.set_transform(world.get_map().get_spawn_points()[0])  # onto the first one
    path = record(client, world, tmp_path / "crash.log")
    text = client.show_recorder_collisions(path, "v", "v")
    assert (
        f"   v v  {first.id:6d} {first.type_id:<35} {second.id:6d} {second.type_id:<35}\n" in text
    )
    assert recording.collisions(path, "v", "v") == text


def test_a_new_episode_ends_the_recording(
    client: carla.Client, world: carla.World, tmp_path: Path
) -> None:
    path = str(tmp_path / "short.log")
    assert client.start_recorder(path) == path
    for _ in range(3):
        world.tick()
    world = client.reload_world(False)
    for _ in range(2):
        world.tick()
    assert client.show_recorder_file_info(path, False).endswith(
        "\nFrames: 3\nDuration: 0.1 seconds\n"
    )
