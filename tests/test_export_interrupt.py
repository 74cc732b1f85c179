"""A run killed mid-way (SIGKILL, no teardown) leaves a COCO file that loads and only
complete images: files appear under their final name only when complete, and coco.json
is rewritten atomically from finished frames only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from pycocotools.coco import COCO

from runner.export.coco import JOURNAL_FILE, load_coco, read_journal
from runner.sim.process import EmbeddedServer

WRITER = """
import sys, carla
from pathlib import Path
from runner.export.sinks import ExportSinks
from runner.export.targets import ExportSpec
from tests.test_export_e2e import CAMERAS, Rig

host, port, run_dir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
client = carla.Client(host, port)
client.set_timeout(60.0)
world = client.load_world("GridTown")
settings = world.get_settings()
settings.synchronous_mode, settings.fixed_delta_seconds = True, 0.05
world.apply_settings(settings)
spot = world.get_map().get_spawn_points()[0]
car = world.get_blueprint_library().find("vehicle.tesla.model3")
fwd = spot.get_forward_vector()
world.spawn_actor(car, carla.Transform(spot.location + fwd * 10.0, spot.rotation))
rig = Rig(world, carla.Transform(spot.location + carla.Location(z=1.7), spot.rotation), CAMERAS)
export = {"images": {"rgb": "raw", "semseg": "cityscapes", "depth": "logdepth"},
          "coco": {"camera": "rgb", "checkpoint_every": 2}}
sinks = ExportSinks.open(run_dir, ExportSpec.model_validate(export), rig.infos)
while True:
    sinks.submit(rig.tick())
"""


@pytest.mark.timeout(240)
def test_killed_run_leaves_loadable_coco_and_complete_images(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    repo = Path(__file__).resolve().parents[1]
    with EmbeddedServer() as server:
        args = [sys.executable, "-c", WRITER, server.host, str(server.port), str(run_dir)]
        child = subprocess.Popen(args, cwd=repo, start_new_session=True)
        try:
            deadline = time.monotonic() + 180
            while len(read_journal(run_dir / JOURNAL_FILE)) < 7:
                assert child.poll() is None, "the writer died by itself"
                assert time.monotonic() < deadline, "the writer made no progress"
                time.sleep(0.05)
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    checkpoint = COCO(str(run_dir / "coco.json"))  # the last checkpoint loads
    assert len(checkpoint.getImgIds()) >= 6
    rebuilt = load_coco(run_dir)  # the journal has every finished frame
    assert len(rebuilt["images"]) >= len(checkpoint.getImgIds())
    for image in checkpoint.loadImgs(checkpoint.getImgIds()):
        assert (run_dir / image["file_name"]).is_file()
    written = [p for p in run_dir.rglob("*.png") if not p.name.startswith(".")]
    assert len(written) >= 18
    for path in written:  # every visible image decodes in full
        picture = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert picture is not None and picture.shape[:2] == (600, 800), path
    leftovers = [p.name for p in run_dir.rglob("*.part")]
    assert all(name.startswith(".") for name in leftovers)
