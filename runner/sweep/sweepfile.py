"""Reading a sweep file: the template (or plain scenario) and its sweep spec.

The spec is a `{# sweep: ... #}` jinja comment in the template (ignored when it
renders) or a `<stem>.sweep.yaml` beside the file (`<stem>` is the name without
`.yaml.j2`, `.j2` or `.yaml`). Both hold the same keys; errors name file:line:column.

    name: weather_x_maps      # default: the file's stem
    seed: 7                   # master seed (plain scenario files: their own `seed`)
    grid:                     # product, first key outermost
      weather: [ClearNoon, HardRainNoon]
      seed: 1..3              # inclusive range; also 0..1:0.25 or {from:, to:, step:}
    zip:                      # equal-length lists that move together: one axis
      map: [GridTown, CrossTown]
      spawn_point: [0, 4]
    exclude:                  # drop points matching every key (a list = any of)
      - {weather: HardRainNoon, map: CrossTown}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runner.errors import Problem, ScenarioError
from runner.suggest import did_you_mean
from runner.sweep.grid import Axis, ExcludeRule, Grid, GridError, check_grid, parse_values
from runner.sweep.yamlpos import Positions, dotted, positions

SPEC_KEYS = ("name", "seed", "grid", "zip", "exclude", "description")
TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
SIDECAR_SUFFIX = ".sweep.yaml"
_HEADER = re.compile(r"\{#-?\s*(sweep:.*?)-?#\}", re.DOTALL)
_SWEEP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class SweepFile:
    """A sweep as written: what to render and over which grid."""

    path: Path
    text: str
    is_template: bool
    name: str
    master_seed: int | None
    grid: Grid
    spec_file: Path | None
    param_positions: dict[str, tuple[str, int | None, int | None]] = field(default_factory=dict)
    """Where each parameter was written: (file, line, column); `--grid` ones: ("--grid", ...)."""

    def param_problem(self, name: str, message: str, hint: str | None = None) -> Problem:
        file, line, column = self.param_positions.get(name, (str(self.path), None, None))
        return Problem(file, line, column, name, message, hint)


def stem(path: Path) -> str:
    """`weather_x_maps` for weather_x_maps.yaml.j2, .j2 or .yaml."""
    name = path.name
    for suffix in (*TEMPLATE_SUFFIXES, ".yaml", ".yml"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def is_template(path: Path) -> bool:
    return path.name.endswith(TEMPLATE_SUFFIXES)


def sidecar(path: Path) -> Path:
    return path.with_name(stem(path) + SIDECAR_SUFFIX)


def is_sweep_file(path: str | Path) -> bool:
    """A template, or a scenario file with a `.sweep.yaml` beside it."""
    source = Path(path)
    return is_template(source) or sidecar(source).is_file()


def read_sweep_file(path: Path, text: str, extra_axes: Sequence[Axis] = ()) -> SweepFile:
    """The sweep of `path` (whose text is `text`), with `--grid` axes applied last."""
    template = is_template(path)
    spec, spec_file, where = _find_spec(path, text if template else None)
    name = _name(spec, path, where)
    seed = _seed(spec, where)
    grid = _grid(spec, where)
    positions = {name: _param_position(where, name) for name in grid.names()}
    try:
        for axis in extra_axes:
            grid = grid.with_axis(axis)
            positions.update({name: ("--grid", None, None) for name in axis.names})
    except GridError as exc:
        raise ScenarioError([Problem("--grid", None, None, "", exc.message, exc.hint)]) from None
    if seed is None and template:
        seed = 0
    return SweepFile(path, text, template, name, seed, grid, spec_file, positions)


def _param_position(where: _Where, name: str) -> tuple[str, int | None, int | None]:
    """The key of parameter `name` under grid: or zip: in the spec."""
    for loc, (line, column) in where.positions.keys.items():
        rest = loc[len(where.prefix) :]
        if rest[-1:] == (name,) and rest[:1] in (("grid",), ("zip",)) and len(rest) <= 3:
            return (where.file, line, column)
    return (where.file, None, None)


@dataclass(frozen=True)
class _Where:
    """Turns a path in the spec into a located problem."""

    file: str
    positions: Positions
    prefix: tuple[str | int, ...]

    def problem(
        self, path: tuple[str | int, ...], message: str, hint: str | None = None, key: bool = False
    ) -> ScenarioError:
        full = (*self.prefix, *path)
        line, column = self.positions.at(full, at_key=key) or (None, None)
        return ScenarioError([Problem(self.file, line, column, dotted(full), message, hint)])


def _find_spec(path: Path, text: str | None) -> tuple[dict[str, Any], Path | None, _Where]:
    side = sidecar(path)
    header = _HEADER.search(text) if text is not None else None
    if header is not None and side.is_file():
        message = f"the sweep is given twice: in a header here and in {side}"
        raise ScenarioError.single(str(path), message, line=_line_at(text or "", header.start()))
    if header is not None and text is not None:
        # Lines before the spec become empty so YAML marks are file lines; `sweep:` is
        # moved to column 1 so the spec may be indented less than it (the usual layout).
        blank = "\n" * text.count("\n", 0, header.start(1))
        return _load(blank + header.group(1), str(path), ("sweep",), path)
    if side.is_file():
        return _load(side.read_text(encoding="utf-8"), str(side), (), side)
    where = _Where(str(path), Positions(), ())
    return {}, None, where


def _line_at(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _load(
    text: str, file: str, prefix: tuple[str, ...], source: Path
) -> tuple[dict[str, Any], Path, _Where]:
    try:
        data = yaml.safe_load(text)
        where = _Where(file, positions(text), prefix)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = (exc.problem or "invalid YAML").strip()
        raise ScenarioError([Problem(file, line, column, "", f"sweep spec: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError.single(file, f"sweep spec: {exc}") from None
    for key in prefix:
        data = data.get(key) if isinstance(data, dict) else None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise where.problem((), "the sweep spec must be a mapping (name, seed, grid, ...)")
    for key in data:
        if key not in SPEC_KEYS:
            hint = did_you_mean(str(key), SPEC_KEYS)
            raise where.problem((key,), f"unknown sweep key {key!r}", hint, key=True)
    return data, source, where


def _name(spec: dict[str, Any], path: Path, where: _Where) -> str:
    name = spec.get("name", stem(path))
    if not isinstance(name, str) or not _SWEEP_NAME.match(name):
        message = f"expected a plain name (letters, digits, '_', '-', '.'), got {name!r}"
        raise where.problem(("name",), message)
    return name


def _seed(spec: dict[str, Any], where: _Where) -> int | None:
    seed = spec.get("seed")
    if seed is not None and (type(seed) is not int or not 0 <= seed <= 2**31 - 1):
        raise where.problem(("seed",), f"expected an integer 0..2147483647, got {seed!r}")
    return seed


def _grid(spec: dict[str, Any], where: _Where) -> Grid:
    try:
        axes = [*_product_axes(spec.get("grid"), where), *_zip_axes(spec.get("zip"), where)]
        grid = Grid(tuple(axes), _rules(spec.get("exclude"), where))
        check_grid(grid)
    except GridError as exc:
        raise where.problem(exc.path, exc.message, exc.hint) from None
    return grid


def _product_axes(raw: Any, where: _Where) -> list[Axis]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise where.problem(("grid",), "expected a mapping of parameter: values")
    return [Axis.single(str(k), _values(v, ("grid", str(k)), where)) for k, v in raw.items()]


def _zip_axes(raw: Any, where: _Where) -> list[Axis]:
    if raw is None:
        return []
    groups = [raw] if isinstance(raw, dict) else raw
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise where.problem(("zip",), "expected a mapping of equal-length lists (or a list)")
    axes = []
    for index, group in enumerate(groups):
        base: tuple[str | int, ...] = ("zip",) if isinstance(raw, dict) else ("zip", index)
        columns = {str(k): _values(v, (*base, str(k)), where) for k, v in group.items()}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            sizes = ", ".join(f"{k}: {len(v)}" for k, v in columns.items())
            raise where.problem(base, f"zipped lists differ in length ({sizes})")
        if columns:
            points = tuple(zip(*columns.values(), strict=True))
            axes.append(Axis(tuple(columns), points))
    return axes


def _values(raw: Any, path: tuple[str | int, ...], where: _Where) -> tuple[Any, ...]:
    values = parse_values(raw, path)
    for index, value in enumerate(values):
        if not _json_like(value):
            item = (*path, index) if isinstance(raw, list) else path
            message = f"values must be strings, numbers, booleans, lists or mappings: {value!r}"
            raise where.problem(item, message)
    return values


def _json_like(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list):
        return all(_json_like(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_like(v) for k, v in value.items())
    return False


def _rules(raw: Any, where: _Where) -> tuple[ExcludeRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise where.problem(("exclude",), "expected a list of {parameter: value(s)} mappings")
    rules = []
    for index, rule in enumerate(raw):
        if not isinstance(rule, dict) or not rule:
            raise where.problem(("exclude", index), "expected a mapping of parameter: value(s)")
        match = tuple((str(k), tuple(v) if isinstance(v, list) else (v,)) for k, v in rule.items())
        rules.append(ExcludeRule(match))
    return tuple(rules)
