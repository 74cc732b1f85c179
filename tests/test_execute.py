"""run_plan against the embedded server; frame matching and image conversion.

The end-to-end tests drive the real carla client. The frame-matching rule and the
progress bar are pure and are tested as such, with plain records that carry a
`frame` (what the collector reads).
"""

from __future__ import annotations

import io
import queue
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import carla
import numpy as np
import pytest
from PIL import Image

from runner.capture import FrameCollector
from runner.compile import compile_plan
from runner.errors import SpawnError
from runner.execute import run_plan
from runner.export.image_sink import ImageSink
from runner.export.images import cityscapes_rgb, depth_gray, logdepth_gray, to_pil
from runner.lease import read_lease
from runner.load import load_scenario
from runner.progress import Progress, format_bar
from runner.sim.process import EmbeddedServer
from tests.test_cleanup import leftovers

CAMERA_SCENARIO = """\
name: {name}
map: GridTown
seed: 5
actors:
  ego:
    blueprint: vehicle.tesla.model3
    spawn_point: {spawn_point}
  vehicles:
    count: 3
sensors:
  front:
    type: rgb
    transform: {{x: 1.5, z: 2.4}}
    attributes: {{image_size_x: 48, image_size_y: 32}}
  depth:
    type: depth
    transform: {{x: 1.5, z: 2.4}}
    attributes: {{image_size_x: 48, image_size_y: 32}}
    capture_every: 3
  semseg:
    type: semantic_segmentation
    transform: {{x: 1.5, z: 2.4}}
    attributes: {{image_size_x: 48, image_size_y: 32}}
  gnss:
    type: gnss
  crash:
    type: collision
run:
  ticks: {ticks}
  warmup_ticks: 2
export:
  images:
    front: raw
    depth: logdepth
    semseg: cityscapes
"""


def scenario_plan(
    tmp_path: Path, *, name: str = "e2e", ticks: int = 12, spawn_point: int = 0
) -> Any:
    path = tmp_path / f"{name}.yaml"
    path.write_text(CAMERA_SCENARIO.format(name=name, ticks=ticks, spawn_point=spawn_point))
    return compile_plan(load_scenario(path), source=path)


def assert_server_clean(server: EmbeddedServer) -> None:
    client = carla.Client(server.host, server.port)
    client.set_timeout(20.0)
    world = client.get_world()
    assert world.get_settings().synchronous_mode is False
    assert leftovers(world) == []


# -- end to end -----------------------------------------------------------------------


def test_run_writes_frame_matched_images_and_cleans_up(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    plan = scenario_plan(tmp_path, ticks=12)
    result = run_plan(plan, host=server.host, port=server.port, out_dir=tmp_path / "out")

    record = result.record
    assert record.status == "ok" and record.ticks_done == 12
    counts = {name: (c.captured, c.dropped) for name, c in record.sensors.items()}
    assert counts["front"] == (12, 0) and counts["depth"] == (4, 0) and counts["gnss"] == (12, 0)
    fronts = sorted((result.run_dir / "front").glob("*.png"))
    depths = sorted((result.run_dir / "depth").glob("*.png"))
    assert len(fronts) == 12 and len(depths) == 4
    assert {p.name for p in depths} <= {p.name for p in fronts}  # same frame numbers
    assert Image.open(fronts[0]).size == (48, 32) and Image.open(depths[0]).mode == "L"
    lease = read_lease(result.run_dir)
    assert lease is not None and lease.released and lease.actors == ()
    assert "status" in result.manifest_path.read_text()
    assert any(
        "sensor front: 12 captured, 12 written, 0 dropped" in s for s in result.summary_lines()
    )
    assert_server_clean(server)


def test_run_without_a_server_starts_and_stops_its_own(tmp_path: Path) -> None:
    plan = scenario_plan(tmp_path, name="embedded", ticks=3)
    result = run_plan(plan, out_dir=tmp_path / "out")
    pid = result.record.server["embedded_pid"]
    assert result.record.status == "ok" and result.record.server["embedded"]
    assert not Path(f"/proc/{pid}").exists() or b"runner.sim" not in _cmdline(pid)
    assert (result.run_dir / "server.log").is_file()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_failed_spawn_names_its_line_and_leaves_nothing(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    plan = scenario_plan(tmp_path, name="badspawn", spawn_point=99999)
    with pytest.raises(SpawnError, match=r"ego spawn point 99999.*scenario line 5") as info:
        run_plan(plan, host=server.host, port=server.port, out_dir=tmp_path / "out")
    assert info.value.line == 5
    assert_server_clean(server)
    (run_dir,) = (tmp_path / "out" / "badspawn").iterdir()
    assert '"status": "failed"' in (run_dir / "manifest.json").read_text()


# -- converters: ours against carla's own image.convert --------------------------------


@pytest.fixture(scope="module")
def camera_images() -> Iterator[dict[str, Any]]:
    """One real frame from depth (twice), semantic and RGB cameras looking down a road."""
    with EmbeddedServer() as own_server:
        client = carla.Client(own_server.host, own_server.port)
        client.set_timeout(20.0)
        yield from _grab_images(client.get_world())


def _grab_images(world: Any) -> Iterator[dict[str, Any]]:
    settings = world.get_settings()
    settings.synchronous_mode, settings.fixed_delta_seconds = True, 0.05
    world.apply_settings(settings)
    library = world.get_blueprint_library()
    pose = world.get_map().get_spawn_points()[0]
    pose.location.z += 2.0
    sensors: list[Any] = []
    queues: dict[str, queue.Queue[Any]] = {}
    for key in ("depth", "depth_b", "semantic_segmentation", "rgb"):
        bp = library.find(f"sensor.camera.{key.removesuffix('_b')}")
        bp.set_attribute("image_size_x", "96")
        bp.set_attribute("image_size_y", "64")
        sensor = world.spawn_actor(bp, pose)
        queues[key] = queue.Queue()
        sensor.listen(queues[key].put)
        sensors.append(sensor)
    try:
        for _ in range(3):  # a stream's first frames may go before its subscription lands
            frame = world.tick()
        images = {}
        for key, q in queues.items():
            while (image := q.get(timeout=10)).frame != frame:
                pass
            images[key] = image
        yield images
    finally:
        for sensor in sensors:
            sensor.stop()
            sensor.destroy()


def _converted(image: Any, converter: Any) -> np.ndarray:
    """carla's in-place conversion, read back as (H, W, 4) BGRA."""
    image.convert(converter)
    return np.frombuffer(image.raw_data, np.uint8).reshape(image.height, image.width, 4).copy()


def test_depth_converters_match_carla(camera_images: dict[str, Any]) -> None:
    image, twin = camera_images["depth"], camera_images["depth_b"]
    raw = np.frombuffer(image.raw_data, np.uint8).reshape(image.height, image.width, 4).copy()
    assert len(np.unique(raw[..., 2])) > 1, "the depth camera should see varying depth"
    twin_raw = np.frombuffer(twin.raw_data, np.uint8).reshape(twin.height, twin.width, 4).copy()
    ours_depth, ours_log = depth_gray(raw), logdepth_gray(twin_raw)
    np.testing.assert_array_equal(ours_depth, _converted(image, carla.ColorConverter.Depth)[..., 2])
    theirs_log = _converted(twin, carla.ColorConverter.LogarithmicDepth)
    np.testing.assert_array_equal(ours_log, theirs_log[..., 2])


def test_cityscapes_matches_carla(camera_images: dict[str, Any]) -> None:
    image = camera_images["semantic_segmentation"]
    raw = np.frombuffer(image.raw_data, np.uint8).reshape(image.height, image.width, 4).copy()
    theirs = _converted(image, carla.ColorConverter.CityScapesPalette)
    np.testing.assert_array_equal(cityscapes_rgb(raw), theirs[..., 2::-1])


def test_raw_png_is_the_bgra_buffer_as_rgb(camera_images: dict[str, Any], tmp_path: Path) -> None:
    image = camera_images["rgb"]
    raw = np.frombuffer(image.raw_data, np.uint8).reshape(image.height, image.width, 4)
    pil = to_pil(image.raw_data, image.width, image.height, "raw")
    np.testing.assert_array_equal(np.asarray(pil), raw[..., 2::-1])
    with ImageSink(tmp_path, {"rgb": "raw"}, workers=2, queue_size=1) as sink:
        sink.submit("rgb", image)
    written = tmp_path / "rgb" / f"{image.frame:08d}.png"
    np.testing.assert_array_equal(np.asarray(Image.open(written)), raw[..., 2::-1])
    assert sink.written() == {"rgb": 1}


# -- pure parts -------------------------------------------------------------------------


def datum(frame: int) -> SimpleNamespace:
    return SimpleNamespace(frame=frame)


def test_collector_takes_exactly_the_ticked_frame() -> None:
    collector = FrameCollector(timeout_s=0.05)
    put = collector.add_sensor("cam")
    for frame in (8, 9, 10, 11):
        put(datum(frame))
    bundle = collector.collect(10, 0)
    assert bundle.data["cam"].frame == 10 and bundle.dropped == ()
    assert collector.collect(11, 1).data["cam"].frame == 11


def test_collector_counts_a_missing_frame_as_dropped_and_keeps_the_newer_one() -> None:
    collector = FrameCollector(timeout_s=0.05)
    put = collector.add_sensor("cam")
    put(datum(6))
    assert collector.collect(5, 0).dropped == ("cam",)
    assert collector.collect(6, 1).data["cam"].frame == 6
    assert collector.collect(7, 2).dropped == ("cam",)
    assert collector.counts()["cam"].captured == 1 and collector.counts()["cam"].dropped == 2


def test_collector_waits_only_for_sensors_due_and_never_for_events() -> None:
    collector = FrameCollector(timeout_s=0.05)
    every3 = collector.add_sensor("slow", capture_every=3)
    ticking = collector.add_sensor("own_clock", sensor_tick_s=0.5)
    crash = collector.add_sensor("crash", event=True)
    every3(datum(2))
    crash(datum(2))
    bundle = collector.collect(2, 1)  # index 1: "slow" not due; "own_clock" never awaited
    assert bundle.data == {} and bundle.dropped == ()
    assert [e.frame for e in bundle.events["crash"]] == [2]
    ticking(datum(3))
    every3(datum(3))
    assert set(collector.collect(3, 3).data) == {"slow", "own_clock"}


def test_progress_bar_is_quiet_without_a_terminal() -> None:
    stream = io.StringIO()
    with Progress("run", 10, stream) as progress:
        progress.advance(10)
    assert stream.getvalue() == "" and progress.done == 10
    assert format_bar("run", 5, 10, 12.5).startswith("run [###############...............] 5/10")
