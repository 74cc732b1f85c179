"""Pure tests of `--set` overrides and of `--grid` sweeps over a plain scenario file."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ScenarioError
from runner.sweep.overrides import load_scenario_with_overrides, parse_set
from runner.sweep.resolve import resolve_sweep
from runner.sweep.variants import variant_seed

SCENARIO = """\
name: plain
map: GridTown
weather: ClearNoon
seed: 11
actors:
  ego: {blueprint: vehicle.tesla.model3, spawn_point: 0}
  vehicles:
    count: 2
  props:
    - blueprint: static.prop.streetbarrier
sensors:
  front:
    type: rgb
    attributes: {image_size_x: 64, image_size_y: 48}
export:
  images: {front: raw}
"""


@pytest.fixture()
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "plain.yaml"
    path.write_text(SCENARIO)
    return path


def only_problem(path: Path, *sets: str) -> object:
    with pytest.raises(ScenarioError) as exc:
        load_scenario_with_overrides(path, list(sets))
    (problem,) = exc.value.problems
    return problem


def test_parse_set_reads_yaml_values_and_paths() -> None:
    assert parse_set("actors.vehicles.count=50").value == 50
    assert parse_set("actors.props[0].name=cone").path == ("actors", "props", 0, "name")
    assert parse_set("actors.props.0.name=cone").path == ("actors", "props", 0, "name")
    assert parse_set("world.no_rendering=true").value is True
    assert parse_set("description=").value == ""
    with pytest.raises(ScenarioError, match="expected PATH=VALUE"):
        parse_set("actors..count=1")


def test_overrides_apply_and_keep_the_files_lines(scenario_file: Path) -> None:
    scenario = load_scenario_with_overrides(
        scenario_file,
        ["weather=HardRainNoon", "actors.vehicles.count=50", "actors.props[0].name=barrier"],
    )
    assert scenario.weather.preset == "HardRainNoon"
    assert scenario.actors.vehicles.count == 50
    assert scenario.actors.props[0].name == "barrier"
    assert scenario.line_of("actors", "vehicles") == 7  # the file's line, not the dump's


def test_weather_shorthand_expands_under_a_deeper_path(scenario_file: Path) -> None:
    scenario = load_scenario_with_overrides(scenario_file, ["weather.fog_density=40"])
    assert (scenario.weather.preset, scenario.weather.fog_density) == ("ClearNoon", 40)


def test_bad_value_names_the_override(scenario_file: Path) -> None:
    problem = only_problem(scenario_file, "actors.vehicles.count=many")
    assert str(problem).startswith("--set actors.vehicles.count=many: actors.vehicles.count:")
    assert "integer" in str(problem)


def test_unknown_key_names_the_override_with_a_hint(scenario_file: Path) -> None:
    problem = only_problem(scenario_file, "actors.vehicles.cnt=5")
    assert problem.file == "--set actors.vehicles.cnt=5"  # type: ignore[attr-defined]
    assert problem.hint == "did you mean 'count'?"  # type: ignore[attr-defined]


def test_bad_index_and_path_through_a_scalar(scenario_file: Path) -> None:
    problem = only_problem(scenario_file, "actors.props[3].name=x")
    assert "no item 3 in a list of 1" in str(problem)
    problem = only_problem(scenario_file, "map.x=1")
    assert "map is 'GridTown', not a mapping" in str(problem)


def test_a_knock_on_problem_points_at_the_file_and_names_the_override(
    scenario_file: Path,
) -> None:
    problem = only_problem(scenario_file, "actors.ego=null")
    assert problem.file == str(scenario_file)  # type: ignore[attr-defined]
    assert problem.line == 13  # type: ignore[attr-defined]  # sensors.front, attached to ego
    assert "attach_to names no actor: 'ego'" in str(problem)
    assert "(with --set actors.ego=null)" in str(problem)


def test_the_file_must_be_valid_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("map: GridTown\nrun: {tiks: 1}\n")
    problem = only_problem(path, "run.ticks=1")
    assert (problem.file, problem.line) == (str(path), 2)  # type: ignore[attr-defined]


def test_grid_over_a_plain_file(scenario_file: Path) -> None:
    sweep = resolve_sweep(
        scenario_file, grid=["weather=ClearNoon,HardRainNoon", "seed=1..2"], sets=["run.ticks=3"]
    )
    assert sweep.name == "plain"
    assert [v.name for v in sweep.variants] == [
        "plain/weather=ClearNoon,seed=1", "plain/weather=ClearNoon,seed=2",
        "plain/weather=HardRainNoon,seed=1", "plain/weather=HardRainNoon,seed=2",
    ]  # fmt: skip
    last = sweep.variants[-1]
    assert last.scenario.weather.preset == "HardRainNoon"
    assert last.scenario.run.ticks == 3
    # The file's own seed is the master seed; `seed` in the grid is a replicate label.
    assert last.scenario.seed == variant_seed(11, {"weather": "HardRainNoon", "seed": 2})


def test_grid_value_errors_name_the_variant_and_parameter(scenario_file: Path) -> None:
    with pytest.raises(ScenarioError) as exc:
        resolve_sweep(scenario_file, grid=["actors.vehicles.count=1,-1"])
    (problem,) = exc.value.problems
    text = str(problem)
    assert text.startswith("plain/actors.vehicles.count=-1: grid actors.vehicles.count=-1:")
    assert "greater than or equal to 0" in text


def test_set_may_not_fight_the_grid(scenario_file: Path) -> None:
    with pytest.raises(ScenarioError, match="sets a grid parameter"):
        resolve_sweep(scenario_file, grid=["weather=ClearNoon"], sets=["weather=WetNoon"])
