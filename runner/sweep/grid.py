"""Parameter grids: products of axes, zipped axes, ranges and exclude rules (pure).

An `Axis` is one parameter with its values, or several zipped parameters that move
together (`map` and `spawn_point` in lock-step). The grid is the product of its axes
in the order written (first axis outermost), minus the points an exclude rule
matches. Values are YAML data; two values are equal when their canonical JSON is
(so `1`, `1.0` and `true` stay three different values).

Ranges are inclusive: `1..5`, `0..1:0.25` or `{from: 0, to: 1, step: 0.25}`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml

from runner.suggest import did_you_mean

MAX_VARIANTS = 10_000
"""A grid larger than this is almost surely a mistake (and would take days)."""
RANGE_KEYS = ("from", "to", "step")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*(?::\s*({_NUMBER})\s*)?$")

Params = dict[str, Any]


class GridError(ValueError):
    """A malformed grid; `path` says where in the sweep spec (e.g. ("grid", "seed"))."""

    def __init__(self, message: str, path: tuple[str | int, ...] = (), hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint


def canonical(value: Any) -> str:
    """Compact, sorted JSON: the identity of a value for equality, exclude rules and seeds."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Axis:
    """One parameter (or several zipped ones) and its points, in order."""

    names: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...]

    @classmethod
    def single(cls, name: str, values: Sequence[Any]) -> Axis:
        return cls((name,), tuple((v,) for v in values))

    def values_of(self, name: str) -> tuple[Any, ...]:
        index = self.names.index(name)
        return tuple(point[index] for point in self.points)


@dataclass(frozen=True)
class ExcludeRule:
    """Drops every grid point where each named parameter has one of the listed values."""

    match: tuple[tuple[str, tuple[Any, ...]], ...]

    def matches(self, params: Params) -> bool:
        return all(
            name in params and canonical(params[name]) in {canonical(v) for v in allowed}
            for name, allowed in self.match
        )


@dataclass(frozen=True)
class Grid:
    """Axes (product, in order) and exclude rules."""

    axes: tuple[Axis, ...] = ()
    exclude: tuple[ExcludeRule, ...] = ()

    def names(self) -> tuple[str, ...]:
        return tuple(name for axis in self.axes for name in axis.names)

    def size(self) -> int:
        """Points before exclusion."""
        return math.prod(len(axis.points) for axis in self.axes)

    def with_axis(self, axis: Axis) -> Grid:
        """`axis` replaces the axis holding the same parameter(s), else is appended."""
        clash = [a for a in self.axes if set(a.names) & set(axis.names)]
        if not clash:
            return replace(self, axes=(*self.axes, axis))
        if clash[0].names != axis.names or len(clash) > 1:
            raise GridError(f"--grid {','.join(axis.names)} cuts across a zipped group")
        return replace(self, axes=tuple(axis if a is clash[0] else a for a in self.axes))

    def points(self) -> Iterator[Params]:
        """Every point of the product (exclusions not applied), first axis outermost."""
        for combo in itertools.product(*(axis.points for axis in self.axes)):
            params: Params = {}
            for axis, point in zip(self.axes, combo, strict=True):
                params.update(zip(axis.names, point, strict=True))
            yield params


def expand(grid: Grid) -> list[Params]:
    """The grid's points with exclusions applied; raises `GridError` if none or too many."""
    check_grid(grid)
    if grid.size() > MAX_VARIANTS:
        raise GridError(f"the grid has {grid.size()} points; the limit is {MAX_VARIANTS}")
    kept = [p for p in grid.points() if not any(rule.matches(p) for rule in grid.exclude)]
    if not kept:
        raise GridError("every grid point is excluded", ("exclude",))
    return kept


def check_grid(grid: Grid) -> None:
    """Names unique and non-empty; exclude rules name real parameters and values."""
    seen: set[str] = set()
    for axis in grid.axes:
        for name in axis.names:
            if name in seen:
                raise GridError(f"parameter {name!r} is given twice", ("grid", name))
            seen.add(name)
        if not axis.points:
            raise GridError(f"parameter {axis.names[0]!r} has no values", ("grid", axis.names[0]))
        keys = [canonical(p) for p in axis.points]
        if len(set(keys)) != len(keys):
            twice = next(k for k in keys if keys.count(k) > 1)
            raise GridError(f"{','.join(axis.names)}: value {twice} is listed twice")
    for index, rule in enumerate(grid.exclude):
        _check_rule(grid, index, rule)


def _check_rule(grid: Grid, index: int, rule: ExcludeRule) -> None:
    names = grid.names()
    for name, allowed in rule.match:
        if name not in names:
            path = ("exclude", index, name)
            raise GridError(f"no grid parameter {name!r}", path, did_you_mean(name, names))
        axis = next(a for a in grid.axes if name in a.names)
        values = axis.values_of(name)
        known = {canonical(v) for v in values}
        for value in allowed:
            if canonical(value) not in known:
                options = [str(v) for v in values]
                message = f"{name} has no value {canonical(value)} (it has {', '.join(options)})"
                hint = did_you_mean(str(value), options)
                raise GridError(message, ("exclude", index, name), hint)


def parse_values(raw: Any, path: tuple[str | int, ...]) -> tuple[Any, ...]:
    """A list, a range (string or mapping), or one scalar value."""
    if isinstance(raw, list):
        return tuple(raw)
    if isinstance(raw, dict):
        unknown = [k for k in raw if k not in RANGE_KEYS]
        if unknown or "from" not in raw or "to" not in raw:
            message = "a mapping of values must be a range {from: A, to: B, step: S}"
            raise GridError(message, path)
        return number_range(raw["from"], raw["to"], raw.get("step", 1), path)
    if isinstance(raw, str):
        found = parse_range(raw, path)
        if found is not None:
            return found
    return (raw,)


def parse_range(text: str, path: tuple[str | int, ...] = ()) -> tuple[Any, ...] | None:
    """`A..B` or `A..B:STEP` (inclusive), or None when `text` is no range."""
    match = _RANGE.match(text)
    if match is None:
        return None
    start, stop, step = (yaml.safe_load(g) if g else None for g in match.groups())
    return number_range(start, stop, 1 if step is None else step, path)


def number_range(start: Any, stop: Any, step: Any, path: tuple[str | int, ...]) -> tuple[Any, ...]:
    """Inclusive arithmetic range; integers stay integers."""
    numbers = (start, stop, step)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise GridError(f"range bounds and step must be numbers, got {numbers}", path)
    if step == 0 or (stop - start) * step < 0:
        raise GridError(f"range {start}..{stop} with step {step} is empty", path)
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_VARIANTS:
        raise GridError(f"range {start}..{stop}:{step} has {count} values", path)
    if all(isinstance(n, int) for n in numbers):
        return tuple(start + i * step for i in range(count))
    return tuple(round(start + i * step, 10) for i in range(count))


def grid_option(text: str) -> Axis:
    """`--grid NAME=V1,V2,...` or `--grid NAME=A..B[:STEP]`: one axis (values read as YAML)."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise GridError(f"--grid {text}: expected NAME=V1,V2,... or NAME=A..B")
    values = parse_range(raw, ("grid", name))
    if values is None:
        values = tuple(_scalar(part.strip()) for part in raw.split(","))
    return Axis.single(name, values)


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text
