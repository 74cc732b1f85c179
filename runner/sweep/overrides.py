"""`--set dotted.path=value` overrides, applied to scenario data and validated like a file.

    scenario run FILE --set weather=HardRainNoon --set actors.vehicles.count=50

A path is dotted keys with `[N]` (or `.N`) for list items: `actors.props[0].name`.
The value is read as YAML (`50` is an integer, `true` a boolean, `{x: 1}` a mapping,
`''` an empty string). Missing mappings on the way are created; `weather:
ClearNoon` reads as `{preset: ClearNoon}` when a path goes below it.

The file must be valid on its own (its problems are reported with their lines as
usual). The overridden data is then written out as YAML and validated again; each
problem at or below an overridden path names that override (`--set
actors.vehicles.count=abc: expected an integer`), any other names the file's
position of the field and the overrides in force.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from runner.errors import Problem, ScenarioError
from runner.sweep.yamlpos import Loc, Positions, dotted, is_under, parse_dotted, positions


@dataclass(frozen=True)
class Override:
    """One value to put at `path`; `source` is how the user wrote it, for messages."""

    path: Loc
    value: Any
    source: str


def parse_set(text: str, flag: str = "--set") -> Override:
    """`dotted.path=value` -> Override; raises `ScenarioError` naming the option."""
    raw_path, sep, raw_value = text.partition("=")
    source = f"{flag} {text}"
    path = parse_dotted(raw_path.strip())
    if not sep or path is None:
        message = "expected PATH=VALUE with a dotted path, e.g. actors.vehicles.count=50"
        raise ScenarioError([Problem(source, None, None, "", message)])
    try:
        value = yaml.safe_load(raw_value) if raw_value.strip() else ""
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise ScenarioError(
            [Problem(source, None, None, "", f"value is not YAML: {first}")]
        ) from None
    return Override(path, value, source)


def apply_overrides(data: dict[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    """A deep copy of `data` with every override applied in order."""
    out = copy.deepcopy(data)
    for override in overrides:
        _apply(out, override)
    return out


def _apply(data: dict[str, Any], override: Override) -> None:
    node: Any = data
    path = override.path
    for depth, part in enumerate(path[:-1]):
        child = _child(node, part, override, depth)
        if child is None:
            child = [] if isinstance(path[depth + 1], int) else {}
            node[part] = child
        elif isinstance(child, str) and part == "weather":
            child = node[part] = {"preset": child}
        if not isinstance(child, dict | list):
            where = dotted(path[: depth + 1])
            _fail(override, f"{where} is {child!r}, not a mapping or list")
        node = child
    _child(node, path[-1], override, len(path) - 1)
    node[path[-1]] = override.value


def _child(node: Any, part: str | int, override: Override, depth: int) -> Any:
    """The item at `part` (None when a mapping lacks it); fails on a bad index."""
    where = dotted(override.path[: depth + 1])
    if isinstance(node, list):
        if not isinstance(part, int) or not 0 <= part < len(node):
            _fail(override, f"{where}: no item {part} in a list of {len(node)}")
        return node[part]
    if isinstance(part, int):
        _fail(override, f"{where}: [{part}] indexes a list, but this is a mapping")
    return node.get(part)


def _fail(override: Override, message: str) -> NoReturn:
    raise ScenarioError([Problem(override.source, None, None, dotted(override.path), message)])


def dump_yaml(data: Any) -> str:
    """Block-style YAML in the data's own key order."""
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))


def validate_text(
    text: str, *, file: str, base_dir: Path | None, maps_dirs: Sequence[Path] = ()
) -> Any:
    """`runner.load.parse_scenario`, passing the map search path where it takes one."""
    from runner.load import parse_scenario

    kwargs: dict[str, Any] = {"file": file, "base_dir": base_dir}
    if "maps_dirs" in inspect.signature(parse_scenario).parameters:
        kwargs["maps_dirs"] = tuple(maps_dirs)
    return parse_scenario(text, **kwargs)


def blame(
    problems: Sequence[Problem],
    overrides: Sequence[Override],
    file: str,
    where: Positions,
) -> list[Problem]:
    """Problems of overridden data, each pinned on its override or on the original text."""
    out = []
    for problem in problems:
        loc = parse_dotted(problem.field) if problem.field else None
        owner = None
        if loc is not None:
            owner = next(
                (o for o in reversed(overrides) if is_under(loc, o.path) or is_under(o.path, loc)),
                None,
            )
        if owner is not None:
            out.append(
                Problem(owner.source, None, None, problem.field, problem.message, problem.hint)
            )
            continue
        line, column = (where.at(loc) if loc is not None else None) or (None, None)
        context = ", ".join(o.source for o in overrides)
        message = f"{problem.message} (with {context})" if overrides else problem.message
        out.append(Problem(file, line, column, problem.field, message, problem.hint))
    return out


def resolve(
    text: str,
    overrides: Sequence[Override],
    *,
    file: str,
    base_dir: Path | None,
    maps_dirs: Sequence[Path] = (),
    header: str = "",
) -> tuple[Any, str]:
    """(validated Scenario, the YAML text that was validated) for `text` plus `overrides`.

    `text` must already be valid; problems are blamed on overrides (see module doc).
    """
    data = yaml.safe_load(text)
    resolved = header + dump_yaml(apply_overrides(data, overrides))
    try:
        scenario = validate_text(resolved, file=file, base_dir=base_dir, maps_dirs=maps_dirs)
    except ScenarioError as exc:
        raise ScenarioError(blame(exc.problems, overrides, file, positions(text))) from None
    return scenario, resolved


def load_scenario_with_overrides(
    path: str | Path, sets: Sequence[str], *, maps_dirs: Sequence[Path] = ()
) -> Any:
    """`runner.load.load_scenario(path)` with `--set` options applied (`scenario run --set`).

    Line numbers that the plan keeps for spawn errors stay those of the file.
    """
    from runner.load import read_text
    from runner.spec import with_lines

    source = Path(path)
    text = read_text(source)
    scenario = validate_text(text, file=str(path), base_dir=source.parent, maps_dirs=maps_dirs)
    if not sets:
        return scenario
    overrides = [parse_set(s) for s in sets]
    scenario, _ = resolve(
        text, overrides, file=str(path), base_dir=source.parent, maps_dirs=maps_dirs
    )
    return with_lines(scenario, positions(text).line_map())
