"""The only YAML reader: scenario text in, a validated `Scenario` or one `ScenarioError` out.

YAML is composed with the safe loader so every node keeps its line and column; the
plain data is built by hand (duplicate keys refused, aliases expanded under a node
cap, nesting capped) while a path -> position map is recorded.  Pydantic then
validates, and each of its errors is mapped back to file:line:column: unknown keys
point at the key, bad values at the value, missing fields at the parent mapping.
Nothing here contacts a simulator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.dataclasses import is_pydantic_dataclass

from runner.errors import Problem, ScenarioError
from runner.spec import Scenario, with_lines
from runner.suggest import did_you_mean
from runner.validation import ISSUES_ERROR, Loc

MAX_FILE_BYTES = 1_000_000
"""Scenario files are small; anything bigger is refused before it is parsed."""
MAX_NODES = 20_000
"""Cap on nodes after alias expansion: stops "billion laughs" documents quickly."""
MAX_DEPTH = 50
"""Cap on nesting depth; real scenarios nest fewer than ten levels."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when present: same nodes and marks, many times faster on junk."""
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"

Position = tuple[int, int]


def load_scenario(path: str | Path, *, maps_dirs: Sequence[Path] = ()) -> Scenario:
    """Read, parse and validate one scenario file; raises `ScenarioError`.

    `maps_dirs` is the map search path (`runner.mapsearch.search_dirs`): a `map:` that
    is neither a CARLA town nor built in must be an .xodr file there.
    """
    source = Path(path)
    text = read_text(source)
    return parse_scenario(text, file=str(path), base_dir=source.parent, maps_dirs=maps_dirs)


def parse_scenario(
    text: str,
    *,
    file: str = "<string>",
    base_dir: Path | None = None,
    maps_dirs: Sequence[Path] = (),
) -> Scenario:
    """Validate scenario text (e.g. a rendered sweep template); `file` names it in errors."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError.single(file, f"text is {len(text)} characters; limit is 1 MB")
    tree = _Tree(file)
    data = tree.build_document(text)
    return _validate(data, tree, {"base_dir": base_dir, "maps_dirs": tuple(maps_dirs)})


def read_text(path: Path) -> str:
    """The file's text, after the cheap checks: exists, small, not binary, UTF-8."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError.single(
                file, f"file is {size} bytes; scenario files are limited to 1 MB"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError.single(file, f"cannot read file: {exc.strerror or exc}") from None
    return decode_text(raw, file)


def decode_text(raw: bytes, file: str) -> str:
    """UTF-8 text, or a one-line error naming the line of the first bad byte."""
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise ScenarioError.single(file, "binary file (NUL byte); expected YAML text", line=line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start]
        message = f"not UTF-8 text (byte 0x{bad:02x}); expected YAML text"
        raise ScenarioError.single(file, message, line=line) from None


def _pos(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _TooLarge(Exception):
    """Raised inside the tree walk to stop at once; becomes a one-line problem."""

    def __init__(self, node: yaml.Node | None, message: str) -> None:
        super().__init__(message)
        self.node = node


@dataclass
class _Tree:
    """Plain data built from YAML nodes, with where each key and value was written."""

    file: str
    keys: dict[Loc, Position] = field(default_factory=dict)
    values: dict[Loc, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_locs: set[Loc] = field(default_factory=set)
    nodes: int = 0

    def build_document(self, text: str) -> Any:
        root = self._compose(text)
        try:
            data = self._build(root, (), 0)
        except _TooLarge as exc:
            line, column = _pos(exc.node) if exc.node is not None else (None, None)
            raise ScenarioError.single(self.file, str(exc), line=line, column=column) from None
        return data

    def _compose(self, text: str) -> yaml.MappingNode:
        try:
            root = yaml.compose(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as exc:
            raise ScenarioError([_syntax_problem(self.file, exc, text)]) from None
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ScenarioError.single(self.file, f"YAML error: {first}") from None
        except RecursionError:
            raise ScenarioError.single(self.file, "YAML nesting is too deep") from None
        if root is None:
            raise ScenarioError.single(
                self.file, "empty file; expected a mapping of scenario fields"
            )
        if not isinstance(root, yaml.MappingNode):
            kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
            line, column = _pos(root)
            message = f"top level is {kind}; expected a mapping of scenario fields"
            raise ScenarioError.single(self.file, message, line=line, column=column)
        return root

    def _build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            message = f"document has more than {MAX_NODES} values (counting YAML aliases)"
            raise _TooLarge(None, message)
        if depth > MAX_DEPTH:
            raise _TooLarge(node, f"nesting deeper than {MAX_DEPTH} levels")
        self.values.setdefault(loc, _pos(node))
        if isinstance(node, yaml.MappingNode) and self._tag_ok(node, _MAP_TAG, loc):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode) and self._tag_ok(node, _SEQ_TAG, loc):
            return [self._build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, loc) if isinstance(node, yaml.ScalarNode) else None

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged = {**self._merge(value_node, loc, depth), **merged}
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, loc, "mapping keys must be plain names")
                continue
            key = str(key_node.value)
            if key in out:
                first = self.keys[(*loc, key)][0]
                message = f"duplicate key {key!r} (first defined on line {first})"
                self._problem(key_node, (*loc, key), message)
                continue
            self.keys[(*loc, key)] = _pos(key_node)
            out[key] = self._build(value_node, (*loc, key), depth + 1)
        return {**merged, **out}

    def _merge(self, node: yaml.Node, loc: Loc, depth: int) -> dict[str, Any]:
        """YAML merge keys (`<<: *base`): earlier sources win, explicit keys win over all."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                self._problem(source, loc, "a merge key ('<<') needs a mapping or list of mappings")
                continue
            merged.update(self._mapping(source, loc, depth + 1))
        return merged

    def _scalar(self, node: yaml.Node, loc: Loc) -> Any:
        try:
            return yaml.SafeLoader("").construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            self._problem(node, loc, (exc.problem or "cannot read this value").strip())
            return None

    def _tag_ok(self, node: yaml.Node, expected: str, loc: Loc) -> bool:
        if node.tag != expected:
            self._problem(node, loc, f"unsupported YAML tag {node.tag!r}")
        return bool(node.tag == expected)

    def _problem(self, node: yaml.Node, loc: Loc, message: str) -> None:
        line, column = _pos(node)
        self.problems.append(Problem(self.file, line, column, dotted(loc), message))
        self.problem_locs.add(loc)

    def where(self, loc: Loc, *, at_key: bool = False) -> Position:
        """The key's or value's position at `loc`, else the nearest enclosing one."""
        if at_key and loc in self.keys:
            return self.keys[loc]
        for end in range(len(loc), -1, -1):
            position = self.values.get(loc[:end])
            if position is not None:
                return position
        return (1, 1)

    def line_map(self) -> dict[Loc, int]:
        """Line of every key (or of the value where there is no key, as in lists)."""
        lines = {loc: pos[0] for loc, pos in self.values.items()}
        lines.update({loc: pos[0] for loc, pos in self.keys.items()})
        return lines


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    message = (exc.problem or "invalid YAML").strip()
    if exc.context:
        message = f"{exc.context.strip()}: {message}"
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        message += " (a tab; YAML indents with spaces only)"
    return Problem(file, line, column, "", f"YAML syntax error: {message}")


def dotted(loc: Loc) -> str:
    """`actors.props[0].blueprint` from ("actors", "props", 0, "blueprint")."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(data: dict[str, Any], tree: _Tree, context: dict[str, Any]) -> Scenario:
    problems = list(tree.problems)
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            found = _translate(dict(error), data, tree)
            problems.extend(p for p in found if not _already_reported(p, tree))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise ScenarioError(problems)
    return with_lines(scenario, tree.line_map())


def _already_reported(problem: Problem, tree: _Tree) -> bool:
    """A value the YAML reader already refused (bad tag) is not reported twice."""
    return any(problem.field.startswith(dotted(loc)) for loc in tree.problem_locs if loc)


def _data_path(loc: tuple[Any, ...], data: Any, *, missing: bool) -> Loc:
    """The error's path in the data, minus pydantic's union-member labels."""
    node, path = data, []
    last = len(loc) - 1
    for i, part in enumerate(loc):
        if _has(node, part):
            node = node[part]
        elif not (missing and i == last):
            continue
        path.append(part)
    return tuple(path)


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _translate(error: dict[str, Any], data: Any, tree: _Tree) -> list[Problem]:
    kind = error["type"]
    path = _data_path(tuple(error["loc"]), data, missing=kind == "missing")
    if kind == ISSUES_ERROR:
        return [_issue_problem(tree, path, issue) for issue in error["ctx"]["issues"]]
    if kind == "missing":
        line, column = tree.where(path[:-1])
        return [Problem(tree.file, line, column, dotted(path), "missing required field")]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        line, column = tree.where(path, at_key=True)
        hint = did_you_mean(str(path[-1]), field_names_at(path[:-1]))
        return [Problem(tree.file, line, column, dotted(path), f"unknown key {path[-1]!r}", hint)]
    line, column = tree.where(path)
    message, hint = describe(error)
    return [Problem(tree.file, line, column, dotted(path), message, hint)]


def _issue_problem(tree: _Tree, path: Loc, issue: tuple[Any, ...]) -> Problem:
    subloc, message, hint, at_key = issue
    full = (*path, *subloc)
    line, column = tree.where(full, at_key=at_key)
    return Problem(tree.file, line, column, dotted(full), message, hint)


def describe(error: dict[str, Any]) -> tuple[str, str | None]:
    """Pydantic's message reworded as "expected X, got Y", plus a did-you-mean."""
    message = str(error["msg"])
    for prefix, replacement in (("Input should be ", "expected "), ("Value error, ", "")):
        if message.startswith(prefix):
            message = replacement + message[len(prefix) :]
    value = error.get("input")
    if isinstance(value, dict):
        message += ", got a mapping"
    elif isinstance(value, list):
        message += ", got a list"
    elif value is None or isinstance(value, str | int | float | bool):
        message += f", got {value!r}"
    hint = None
    if error["type"] == "literal_error" and isinstance(value, str):
        options = str(error.get("ctx", {}).get("expected", "")).split("'")[1::2]
        hint = did_you_mean(value, options)
    return message, hint


def field_names_at(path: Loc) -> tuple[str, ...]:
    """The keys allowed at `path` in a scenario file (for did-you-mean on unknown keys)."""
    annotation: Any = Scenario
    for part in path:
        annotation = _step(annotation, part)
    model = _model_in(annotation)
    return _field_names(model) if model is not None else ()


def _step(annotation: Any, part: str | int) -> Any:
    origin = get_origin(annotation)
    if origin is dict:
        return get_args(annotation)[1]
    if origin in (list, tuple):
        return get_args(annotation)[0]
    model = _model_in(annotation)
    if model is None:
        return None
    if is_pydantic_dataclass(model):
        return next((f.type for f in dataclasses.fields(model) if f.name == str(part)), None)
    info = model.model_fields.get(str(part))  # type: ignore[attr-defined]
    return info.annotation if info is not None else None


def _field_names(model: type) -> tuple[str, ...]:
    if is_pydantic_dataclass(model):
        return tuple(f.name for f in dataclasses.fields(model))
    return tuple(model.model_fields)  # type: ignore[attr-defined]


def _model_in(annotation: Any) -> type | None:
    """The model (BaseModel or pydantic dataclass) an annotation names, if any."""
    if isinstance(annotation, type) and (
        issubclass(annotation, BaseModel) or is_pydantic_dataclass(annotation)
    ):
        return annotation
    for arg in get_args(annotation):
        model = _model_in(arg)
        if model is not None:
            return model
    return None
