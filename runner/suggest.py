"""Offline look-ups against the pinned CARLA 0.9.16 catalog, each with a did-you-mean.

Every check returns None when all is well, else a `Finding` (message, hint), so a
typo in a blueprint id, filter, map name or sensor attribute names its likely fix
without a server.  Used by `runner.spec`; the catalog is pure data and fast to import.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from runner.catalog import (
    ATTR_BOOL,
    ATTR_FLOAT,
    ATTR_INT,
    ATTR_RGBCOLOR,
    ATTR_STRING,
    AttributeSpec,
    all_blueprints,
    filter_blueprints,
    find_blueprint,
)
from runner.mapsearch import known_map_names

Finding = tuple[str, "str | None"]
"""(message, did-you-mean hint or None)."""

_LEADING_ZEROS = re.compile(r"(?<!\d)0+(?=\d)")
_RGB = re.compile(r"^\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*$")
_TYPE_NAMES = {
    ATTR_BOOL: "a boolean",
    ATTR_INT: "an integer",
    ATTR_FLOAT: "a number",
    ATTR_STRING: "a string",
    ATTR_RGBCOLOR: "an 'R,G,B' string",
}


def _normal(word: str) -> str:
    """Lower case, leading zeros dropped from numbers: 'Town3' and 'town03' compare equal."""
    return _LEADING_ZEROS.sub("", word.lower())


def closest(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate most like `word` (ignoring case and zero padding), or None."""
    by_normal = {_normal(c): c for c in candidates}
    exact = by_normal.get(_normal(word))
    if exact is not None:
        return exact
    found = difflib.get_close_matches(_normal(word), list(by_normal), n=1, cutoff=cutoff)
    return by_normal[found[0]] if found else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A ready-to-print hint ("did you mean 'x'?") or None."""
    match = closest(word, candidates)
    return None if match is None or match == word else f"did you mean {match!r}?"


def unknown_blueprint(blueprint_id: str, prefix: str) -> Finding | None:
    """Is `blueprint_id` a catalog blueprint whose id starts with `prefix`?"""
    if blueprint_id.startswith(prefix) and find_blueprint(blueprint_id) is not None:
        return None
    pool = [bp.id for bp in all_blueprints() if bp.id.startswith(prefix)]
    kind = prefix.rstrip(".")
    return f"unknown {kind} blueprint {blueprint_id!r}", did_you_mean(blueprint_id, pool)


def empty_filter(pattern: str, prefix: str = "vehicle.") -> Finding | None:
    """Does CARLA's wildcard `pattern` match at least one blueprint under `prefix`?"""
    if any(bp.id.startswith(prefix) for bp in filter_blueprints(pattern)):
        return None
    pool = [bp.id for bp in all_blueprints() if bp.id.startswith(prefix)]
    wildcard = any(c in pattern for c in "*?[")
    close = None if wildcard else did_you_mean(pattern, pool)
    hint = close or f"try '{prefix}*' or a tag such as 'car'"
    return f"filter {pattern!r} matches no {prefix.rstrip('.')} blueprint", hint


def unknown_map(name: str, base_dir: Path | None, maps_dirs: Sequence[Path] = ()) -> Finding | None:
    """A town name must be known; an .xodr path must exist (relative to the scenario).

    Known: CARLA's towns, the built-in maps, and .xodr files in `maps_dirs` (the run's
    own search path, `runner.mapsearch.search_dirs`), so validate and run agree.
    """
    if name.strip().lower().endswith(".xodr"):
        path = Path(name).expanduser()
        resolved = path if path.is_absolute() else (base_dir or Path.cwd()) / path
        return None if resolved.is_file() else (f"OpenDRIVE file not found: {resolved}", None)
    short = name.rsplit("/", 1)[-1]
    names = known_map_names(maps_dirs)
    if short in names:
        return None
    return f"unknown map {name!r}", did_you_mean(short, names)


def attribute_findings(
    blueprint_id: str, attributes: dict[str, object]
) -> list[tuple[str, bool, Finding]]:
    """(attribute, at_key, finding) for each attribute the blueprint would refuse."""
    blueprint = find_blueprint(blueprint_id)
    if blueprint is None:
        return []
    known = [a.id for a in blueprint.attributes]
    out: list[tuple[str, bool, Finding]] = []
    for name, value in attributes.items():
        spec = blueprint.attribute(name)
        if spec is None:
            message = f"unknown attribute {name!r} for {blueprint_id}"
            out.append((name, True, (message, did_you_mean(name, known))))
        elif not spec.modifiable:
            message = f"attribute {name!r} of {blueprint_id} is read-only (always {spec.default!r})"
            out.append((name, True, (message, None)))
        else:
            finding = bad_attribute_value(spec, value)
            if finding is not None:
                out.append((name, False, finding))
    return out


def bad_attribute_value(spec: AttributeSpec, value: object) -> Finding | None:
    """Does `value` fit the attribute's type (and its recommended values, if restricted)?"""
    fits = {
        ATTR_BOOL: isinstance(value, bool),
        ATTR_INT: isinstance(value, int) and not isinstance(value, bool),
        ATTR_FLOAT: isinstance(value, int | float) and not isinstance(value, bool),
        ATTR_STRING: isinstance(value, str),
        ATTR_RGBCOLOR: isinstance(value, str) and _RGB.match(value) is not None,
    }.get(spec.type, True)
    if not fits:
        return f"expected {_TYPE_NAMES.get(spec.type, 'a value')}, got {value!r}", None
    if spec.restrict_to_recommended and str(value) not in spec.recommended:
        options = ", ".join(repr(r) for r in spec.recommended)
        return f"expected one of {options}, got {value!r}", did_you_mean(
            str(value), spec.recommended
        )
    return None
