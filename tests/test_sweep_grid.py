"""Pure tests of sweep grids: products, zips, ranges, excludes, names, folders and seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ScenarioError
from runner.sweep.grid import Axis, ExcludeRule, Grid, GridError, expand, grid_option, parse_values
from runner.sweep.sweepfile import read_sweep_file, stem
from runner.sweep.variants import Variant, point_label, slug, variant_seed


def test_product_order_first_axis_outermost() -> None:
    grid = Grid((Axis.single("weather", ["A", "B"]), Axis.single("map", ["X", "Y", "Z"])))
    points = expand(grid)
    assert [(p["weather"], p["map"]) for p in points] == [
        ("A", "X"), ("A", "Y"), ("A", "Z"), ("B", "X"), ("B", "Y"), ("B", "Z"),
    ]  # fmt: skip
    assert list(points[0]) == ["weather", "map"]


def test_zipped_axis_moves_together() -> None:
    zipped = Axis(("map", "spawn"), (("GridTown", 0), ("CrossTown", 4)))
    grid = Grid((Axis.single("seed", [1, 2]), zipped))
    points = expand(grid)
    assert [(p["seed"], p["map"], p["spawn"]) for p in points] == [
        (1, "GridTown", 0), (1, "CrossTown", 4), (2, "GridTown", 0), (2, "CrossTown", 4),
    ]  # fmt: skip


def test_ranges_inclusive_integer_and_float() -> None:
    assert parse_values("1..5", ()) == (1, 2, 3, 4, 5)
    assert parse_values("0..1:0.25", ()) == (0, 0.25, 0.5, 0.75, 1.0)
    assert parse_values({"from": 10, "to": 0, "step": -5}, ()) == (10, 5, 0)
    assert parse_values("ClearNoon", ()) == ("ClearNoon",)
    assert parse_values(["1..5"], ()) == ("1..5",)  # in a list it is a literal string
    with pytest.raises(GridError, match="empty"):
        parse_values("5..1", ())


def test_exclude_drops_matching_points_only() -> None:
    grid = Grid(
        (Axis.single("weather", ["Clear", "Rain"]), Axis.single("map", ["X", "Y"])),
        (ExcludeRule((("weather", ("Rain",)), ("map", ("Y",)))),),
    )
    kept = [(p["weather"], p["map"]) for p in expand(grid)]
    assert kept == [("Clear", "X"), ("Clear", "Y"), ("Rain", "X")]


def test_exclude_value_types_are_exact() -> None:
    grid = Grid((Axis.single("n", [1, True]),), (ExcludeRule((("n", (True,)),)),))
    assert expand(grid) == [{"n": 1}]


def test_exclude_typos_are_errors_with_hints() -> None:
    axes = (Axis.single("weather", ["ClearNoon", "HardRainNoon"]),)
    with pytest.raises(GridError) as unknown:
        expand(Grid(axes, (ExcludeRule((("wether", ("ClearNoon",)),)),)))
    assert unknown.value.hint == "did you mean 'weather'?"
    with pytest.raises(GridError) as value:
        expand(Grid(axes, (ExcludeRule((("weather", ("HardRainnoon",)),)),)))
    assert "has no value" in value.value.message
    assert value.value.hint == "did you mean 'HardRainNoon'?"
    with pytest.raises(GridError, match="every grid point"):
        expand(Grid(axes, (ExcludeRule((("weather", ("ClearNoon", "HardRainNoon")),)),)))


def test_grid_option_values_and_replacement() -> None:
    axis = grid_option("actors.vehicles.count=10,20")
    assert axis == Axis.single("actors.vehicles.count", [10, 20])
    assert grid_option("seed=1..3").points == ((1,), (2,), (3,))
    grid = Grid((Axis.single("weather", ["A"]), Axis.single("seed", [1])))
    replaced = grid.with_axis(grid_option("weather=B,C"))
    assert [a.names[0] for a in replaced.axes] == ["weather", "seed"]
    assert replaced.axes[0].points == (("B",), ("C",))
    with pytest.raises(GridError):
        grid_option("no-equals-sign")


def test_names_and_folders_are_readable_and_stable() -> None:
    params = {"weather": "HardRainNoon", "map": "Town03", "seed": 2}
    variant = Variant.create("weather_x_maps", params, master_seed=7)
    assert variant.name == "weather_x_maps/weather=HardRainNoon,map=Town03,seed=2"
    assert variant.slug == "weather=HardRainNoon,map=Town03,seed=2"
    assert point_label({}) == "default"
    assert slug("map=maps/a b.xodr") == "map=maps%2Fa%20b.xodr"
    assert len(slug("x=" + "a" * 400)) <= 180


def test_seed_depends_on_parameters_not_position() -> None:
    a = {"weather": "ClearNoon", "seed": 1}
    reordered = {"seed": 1, "weather": "ClearNoon"}
    assert variant_seed(7, a) == variant_seed(7, reordered)
    assert variant_seed(7, a) != variant_seed(8, a)
    assert variant_seed(7, a) != variant_seed(7, {"weather": "ClearNoon", "seed": 2})
    small = expand(Grid((Axis.single("weather", ["ClearNoon"]), Axis.single("seed", [1]))))
    big = expand(
        Grid((Axis.single("weather", ["WetNoon", "ClearNoon"]), Axis.single("seed", [3, 1])))
    )
    assert big.index(small[0]) == 3  # a different position, the same seed:
    assert variant_seed(7, big[3]) == variant_seed(7, small[0])
    assert 0 <= variant_seed(0, a) < 2**31


def test_header_spec_with_zip_and_positions(tmp_path: Path) -> None:
    text = (
        "{# sweep:\n"
        "  name: demo\n"
        "  seed: 5\n"
        "  grid:\n"
        "    weather: [ClearNoon, HardRainNoon]\n"
        "  zip:\n"
        "    map: [GridTown, CrossTown]\n"
        "    spawn: [0, 4]\n"
        "#}\n"
        "map: {{ map }}\n"
    )
    path = tmp_path / "demo.yaml.j2"
    spec = read_sweep_file(path, text)
    assert (spec.name, spec.master_seed, spec.is_template) == ("demo", 5, True)
    assert spec.grid.names() == ("weather", "map", "spawn")
    assert spec.grid.size() == 4

    bad = text.replace("spawn: [0, 4]", "spawn: [0, 4, 8]")
    with pytest.raises(ScenarioError) as lengths:
        read_sweep_file(path, bad)
    (problem,) = lengths.value.problems
    assert (problem.line, problem.field) == (7, "sweep.zip")
    assert "differ in length" in problem.message

    typo = text.replace("  seed: 5", "  sed: 5")
    with pytest.raises(ScenarioError) as unknown:
        read_sweep_file(path, typo)
    (problem,) = unknown.value.problems
    assert (problem.file, problem.line, problem.column) == (str(path), 3, 3)
    assert problem.hint == "did you mean 'seed'?"


def test_sidecar_spec_and_stems(tmp_path: Path) -> None:
    scenario = tmp_path / "town.yaml"
    (tmp_path / "town.sweep.yaml").write_text("grid:\n  seed: 1..2\nexclude:\n  - {seed: 3}\n")
    with pytest.raises(ScenarioError) as exc:
        read_sweep_file(scenario, "map: GridTown\n")
    (problem,) = exc.value.problems
    assert problem.file.endswith("town.sweep.yaml")
    assert problem.line == 4
    assert "has no value 3" in problem.message
    assert stem(Path("a.yaml.j2")) == stem(Path("a.yaml")) == stem(Path("a.j2")) == "a"
