"""The shape the code promises: the plan is the whole truth, modules stay small.

The import boundaries themselves (runner -> simulator only through its launcher, no
cycles, world does not draw, handlers independent) are import-linter contracts in
pyproject.toml, run by `make check`.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest

from runner import execute
from runner.cli import run_cli
from runner.plan import STEP_TYPES
from runner.settings import Settings
from runner.sim.world.maps import builtin_xodr

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400

RECORDING_SCENARIO = """\
name: truth
map: {map}
seed: 2
actors:
  ego: {{blueprint: vehicle.tesla.model3, spawn_point: 0}}
  vehicles: {{count: 2}}
  props:
    - {{blueprint: static.prop.streetbarrier, transform: {{x: 3, y: 3}}}}
sensors:
  cam:
    type: rgb
    transform: {{x: 1.5, z: 2.4}}
    attributes: {{image_size_x: 32, image_size_y: 24}}
run: {{ticks: 3, warmup_ticks: 1}}
record: {{enabled: true, queries: [file_info]}}
weather: ClearNoon
export: {{images: {{cam: raw}}}}
"""


def _handled_step_names() -> set[str]:
    """Class names matched in `_Execution._dispatch` (one `case X():` per step type)."""
    source = inspect.getsource(execute._Execution._dispatch)
    tree = ast.parse(source.strip().replace("def _dispatch", "def _dispatch", 1))
    return {
        node.cls.id
        for node in ast.walk(tree)
        if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Name)
    }


def test_every_step_type_has_exactly_one_handler() -> None:
    assert _handled_step_names() == {t.__name__ for t in STEP_TYPES}


def test_no_runner_module_is_over_the_size_limit() -> None:
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "runner").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


@pytest.fixture()
def own_maps(tmp_path: Path) -> Path:
    """A folder holding a town that exists nowhere else (a renamed built-in)."""
    folder = tmp_path / "maps"
    folder.mkdir()
    (folder / "OnlyHere.xodr").write_text(builtin_xodr("CrossTown"))
    return folder


def _scenario(tmp_path: Path, map_name: str) -> Path:
    path = tmp_path / "truth.yaml"
    path.write_text(RECORDING_SCENARIO.format(map=map_name))
    return path


def test_validate_and_plan_see_the_maps_dir(
    own_maps: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, "OnlyHere")
    env = Settings()
    assert run_cli(["validate", str(path)], env) == 2
    assert "unknown map 'OnlyHere'" in capsys.readouterr().err
    assert run_cli(["validate", str(path), "--maps-dir", str(own_maps)], env) == 0
    assert run_cli(["plan", str(path), "--maps-dir", str(own_maps)], env) == 0


@pytest.mark.timeout(180)
def test_run_executes_exactly_the_printed_plan_with_a_maps_dir(
    own_maps: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, "OnlyHere")
    maps = ["--maps-dir", str(own_maps)]
    assert run_cli(["plan", str(path), "--json", *maps], Settings()) == 0
    printed = [s["step"] for s in json.loads(capsys.readouterr().out)["steps"]]
    out = tmp_path / "out"
    assert run_cli(["run", str(path), "--out", str(out), *maps], Settings()) == 0
    (manifest_path,) = out.glob("truth/*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == "ok" and manifest["map"] == "OnlyHere"
    assert manifest["steps_executed"] == printed
    assert {"StopRecorder", "QueryRecorder", "OpenExports", "CloseExports"} <= set(printed)
    assert manifest["versions"]["server"] == "0.9.16"


def test_sensor_types_are_found_by_blueprint_id_through_one_protocol() -> None:
    """A sensor type is one module in runner.sim.sensor_drivers plus a catalog entry."""
    from runner.catalog.sensors import SENSOR_BLUEPRINTS
    from runner.sim.sensor_drivers import drivers
    from runner.sim.sensor_drivers.base import SensorDriver

    found = drivers()
    assert set(found) <= set(SENSOR_BLUEPRINTS.values()), "a driver for an uncatalogued type"
    assert {
        "sensor.camera.rgb",
        "sensor.camera.depth",
        "sensor.camera.semantic_segmentation",
        "sensor.camera.instance_segmentation",
        "sensor.lidar.ray_cast",
        "sensor.other.gnss",
        "sensor.other.imu",
        "sensor.other.collision",
    } <= set(found)
    for cls in found.values():
        driver: SensorDriver = cls()
        assert callable(driver.start) and callable(driver.sample) and callable(driver.flush)
