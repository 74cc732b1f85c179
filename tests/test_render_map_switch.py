"""A map change redraws the new map in the same GL context (no stale scene, no new context)."""

from __future__ import annotations

import queue

import carla
import numpy as np
import pytest

from runner.sim.process import EmbeddedServer
from runner.sim.world.maps import builtin_xodr


def _frame(client: carla.Client, town: str, xodr: str | None = None) -> np.ndarray:
    """One RGB frame from a fixed pose above the origin of `town` (or of `xodr`)."""
    world = client.load_world(town) if xodr is None else client.generate_opendrive_world(xodr)
    settings = world.get_settings()
    settings.synchronous_mode, settings.fixed_delta_seconds = True, 0.05
    world.apply_settings(settings)
    bp = world.get_blueprint_library().find("sensor.camera.rgb")
    bp.set_attribute("image_size_x", "64")
    bp.set_attribute("image_size_y", "48")
    pose = carla.Transform(carla.Location(x=5.0, y=5.0, z=20.0), carla.Rotation(pitch=-60.0))
    camera = world.spawn_actor(bp, pose)
    frames: queue.Queue[carla.Image] = queue.Queue()
    camera.listen(frames.put)
    try:
        frame = world.tick()
        while (image := frames.get(timeout=20.0)).frame != frame:
            pass
        pixels = np.frombuffer(image.raw_data, dtype=np.uint8).copy()
    finally:
        camera.stop()
        client.apply_batch_sync([carla.command.DestroyActor(camera.id)], False)
        world.tick()
        settings.synchronous_mode, settings.fixed_delta_seconds = False, None
        world.apply_settings(settings)
    return pixels


@pytest.mark.timeout(180)
def test_switching_maps_back_and_forth_draws_each_map_as_it_is() -> None:
    with EmbeddedServer() as server:
        client = carla.Client(server.host, server.port)
        client.set_timeout(60.0)
        cross_first = _frame(client, "CrossTown")
        grid = _frame(client, "GridTown")
        cross_again = _frame(client, "CrossTown")
    assert not np.array_equal(cross_first, grid), "the two towns look the same from there"
    assert np.array_equal(cross_first, cross_again), "the scene after a switch is stale"


@pytest.mark.timeout(180)
def test_two_generated_worlds_of_one_name_are_each_drawn_as_they_are() -> None:
    """Every generated world is "OpenDriveMap": the second must not keep the first's roads."""
    frames = []
    for first in (builtin_xodr("GridTown"), None):
        with EmbeddedServer() as server:
            client = carla.Client(server.host, server.port)
            client.set_timeout(60.0)
            if first is not None:
                frames.append(_frame(client, "", first))
            frames.append(_frame(client, "", builtin_xodr("CrossTown")))
    after_another, on_a_fresh_server = frames[1], frames[2]
    assert not np.array_equal(frames[0], after_another)
    assert np.array_equal(after_another, on_a_fresh_server), "the second world is stale"
