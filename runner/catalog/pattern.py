"""Wildcard matching as CARLA's client does it: POSIX ``fnmatch(pattern, s, 0)``.

Python's ``fnmatch`` differs in small ways (no backslash escapes, ``[^...]`` is not
a negation), so patterns are translated here to the glibc rules.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _bracket_body(body: str) -> str:
    """Regex text for a bracket body: escapes honoured, ``-`` kept as the range sign."""
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            i += 1
            out.append(re.escape(body[i]))
        else:
            out.append("-" if body[i] == "-" else re.escape(body[i]))
        i += 1
    return "".join(out)


def _bracket(pattern: str, start: int) -> tuple[str, int] | None:
    """Regex for the bracket expression at ``start``, and the index after it."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    body_start = i
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    if i >= len(pattern):
        return None  # unterminated: the "[" is an ordinary character
    body = _bracket_body(pattern[body_start:i])
    return "[" + ("^" if negate else "") + body + "]", i + 1


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    """The regex equivalent of a POSIX wildcard pattern."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            parts.append(re.escape(pattern[i]))
        elif char == "[" and (bracket := _bracket(pattern, i)) is not None:
            parts.append(bracket[0])
            i = bracket[1]
            continue
        else:
            parts.append(re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def wildcard_match(text: str, pattern: str) -> bool:
    """True when ``text`` matches ``pattern`` under fnmatch(3) with no flags."""
    try:
        compiled = _compile(pattern)
    except re.error:  # e.g. a reversed range "[z-a]", which glibc never matches
        return False
    return compiled.fullmatch(text) is not None
