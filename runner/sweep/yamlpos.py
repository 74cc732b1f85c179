"""Where each key and value of a YAML text was written, by path: for error messages.

`runner.load` keeps its own position map private; the sweep needs one for texts it
did not validate itself (its header, and the text under `--set` overrides), so this
is a small independent walk over `yaml.compose` nodes. Paths are tuples
(`("actors", "props", 0, "blueprint")`) and print as `actors.props[0].blueprint`,
the form `Problem.field` uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

Loc = tuple[str | int, ...]
Position = tuple[int, int]
"""1-based (line, column)."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass
class Positions:
    """Key and value positions by path; `at` falls back to the nearest enclosing path."""

    keys: dict[Loc, Position] = field(default_factory=dict)
    values: dict[Loc, Position] = field(default_factory=dict)

    def at(self, loc: Loc, *, at_key: bool = False) -> Position | None:
        """The key's (or value's) position at `loc`, else that of the nearest parent."""
        if at_key and loc in self.keys:
            return self.keys[loc]
        for end in range(len(loc), -1, -1):
            found = self.values.get(loc[:end])
            if found is not None:
                return found
        return None

    def line_map(self) -> dict[Loc, int]:
        """Line of every key (of the value where there is no key): `with_lines` input."""
        lines = {loc: pos[0] for loc, pos in self.values.items()}
        lines.update({loc: pos[0] for loc, pos in self.keys.items()})
        return lines


def positions(text: str) -> Positions:
    """Positions in `text`; raises `yaml.YAMLError` when it is not YAML."""
    found = Positions()
    root = yaml.compose(text, Loader=_LOADER)
    if root is not None:
        _walk(root, (), found, 0)
    return found


def _walk(node: yaml.Node, loc: Loc, found: Positions, depth: int) -> None:
    if depth > 60:
        return
    found.values.setdefault(loc, _pos(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (*loc, str(key_node.value))
                found.keys.setdefault(key, _pos(key_node))
                _walk(value_node, key, found, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), found, depth + 1)


def _pos(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def dotted(loc: Loc) -> str:
    """`actors.props[0].blueprint` from ("actors", "props", 0, "blueprint")."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_dotted(path: str) -> Loc | None:
    """Inverse of `dotted` (a `.0` part is also an index); None when malformed."""
    parts: list[str | int] = []
    position = 0
    for match in _PART.finditer(path):
        gap = path[position : match.start()]
        if gap not in ("", ".") or (gap == "." and not parts):
            return None
        name, index = match.groups()
        parts.append(int(index) if index is not None else (int(name) if name.isdigit() else name))
        position = match.end()
    if position != len(path) or not parts or isinstance(parts[0], int):
        return None
    return tuple(parts)


def is_under(loc: Loc, prefix: Loc) -> bool:
    """Does `loc` lie at or below `prefix`?"""
    return loc[: len(prefix)] == prefix
