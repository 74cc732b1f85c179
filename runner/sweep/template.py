"""Rendering a sweep template in jinja2's sandbox, and mapping rendered lines back.

The environment: `SandboxedEnvironment`, `StrictUndefined` (a misspelled variable is
an error, not an empty string), `trim_blocks` and `lstrip_blocks` (a `{% for %}` on its
own line leaves no blank line), no autoescaping, and a loader on the template's
folder so `{% include "rig.yaml.j2" %}` works.

Line mapping: each variant is rendered twice, once plainly (the text that is used)
and once through a token filter that appends a marker `\\0NAME\\1LINE\\0` before every
newline that comes from template *text* (never from a substituted value). The
markers say, for every rendered line, which template line its newline was written
on; a line whose newline came from a substituted value takes the line of the next
marker (the line of the `{{ }}` that produced it). With the markers removed the
second rendering must equal the first; if it does not (a filter such as `trim` ran
over block text), lines are reported as rendered only. Columns are mapped within
the line: inside literal text exactly, inside a substitution to the `{{` that made
it, so one-line substitutions (`map: {{ map }}`) map exactly.

Errors jinja raises itself carry the template line (syntax errors when the template
is compiled, undefined names and sandbox violations when a variant renders).
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.sandbox import SandboxedEnvironment

_MARK = re.compile(r"\x00([^\x00\x01]*)\x01(\d+)\x00")
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
_UNDEFINED_NAME = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined|has no attribute '(\w+)'")


@dataclass(frozen=True)
class TemplatePosition:
    """A place in a template file; `exact` is False when the mapping had to guess."""

    file: str
    line: int | None
    column: int | None
    exact: bool = True


class TemplateError(Exception):
    """Rendering or compiling failed at `position`."""

    def __init__(self, message: str, position: TemplatePosition) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class _LineMarks(Extension):
    """Appends a line marker before every newline of template text (see module doc)."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        name = stream.name or ""
        for token in stream:
            if token.type != "data" or "\n" not in token.value:
                yield token
                continue
            pieces = token.value.split("\n")
            marked = "".join(
                f"{piece}\x00{name}\x01{token.lineno + i}\x00\n"
                for i, piece in enumerate(pieces[:-1])
            )
            yield Token(token.lineno, "data", marked + pieces[-1])


def _environment(folder: Path, marks: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        extensions=[_LineMarks] if marks else [],
    )


@dataclass(frozen=True)
class Rendered:
    """A rendered variant and, per rendered line (1-based), its template (name, line)."""

    text: str
    origins: tuple[tuple[str, int] | None, ...]
    exact: bool

    def line_text(self, line: int) -> str:
        lines = self.text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""


class SweepTemplate:
    """One template file, compiled once, rendered per variant."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self._plain = _environment(path.parent, marks=False)
        self._marked = _environment(path.parent, marks=True)
        self._sources: dict[str, list[str]] = {}
        try:
            self._template = self._plain.get_template(self.name)
            self._template_marked = self._marked.get_template(self.name)
        except jinja2.TemplateSyntaxError as exc:
            where = TemplatePosition(exc.filename or str(path), exc.lineno, None)
            raise TemplateError(f"template syntax error: {exc.message}", where) from None
        except jinja2.TemplateNotFound as exc:
            where = TemplatePosition(str(path), None, None)
            raise TemplateError(f"template not found: {exc.name}", where) from None

    def referenced_names(self) -> set[str]:
        """Variables the template (and the templates it includes) read from the context."""
        names: set[str] = set()
        pending, seen = [self.name], set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            try:
                source = self._plain.loader.get_source(self._plain, name)[0]  # type: ignore[union-attr]
                ast = self._plain.parse(source)
            except (jinja2.TemplateNotFound, jinja2.TemplateSyntaxError):
                continue
            names |= meta.find_undeclared_variables(ast)
            pending += [n for n in meta.find_referenced_templates(ast) if n]
        return names

    def render(self, context: Mapping[str, Any]) -> Rendered:
        """The variant's text and line origins; raises `TemplateError` with its position."""
        text = self._render(self._template, context)
        marked = self._render(self._template_marked, context)
        if _MARK.sub("", marked) != text:
            return Rendered(text, (None,) * (text.count("\n") + 1), exact=False)
        return Rendered(text, _origins(marked), exact=True)

    def _render(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        try:
            return template.render(**context)
        except jinja2.TemplateError as exc:
            raise TemplateError(_message(exc), self._error_position(exc)) from None
        except Exception as exc:  # the template's own expressions: any error is its error
            message = f"{type(exc).__name__}: {exc}"
            raise TemplateError(message, self._error_position(exc)) from None

    def _error_position(self, exc: BaseException) -> TemplatePosition:
        """The template frame jinja put in the traceback, with a column for names."""
        filename = getattr(exc, "filename", None)
        line = getattr(exc, "lineno", None)
        if line is None:
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_template(f)]
            if frames:
                filename, line = frames[-1].filename, frames[-1].lineno
        file = filename or str(self.path)
        column = None
        if line is not None:
            column = _name_column(self.source_line(Path(file).name, line), str(exc))
        return TemplatePosition(file, line, column)

    def source_line(self, name: str, line: int) -> str:
        """Line `line` (1-based) of template `name`, or "" if unknown."""
        if name not in self._sources:
            try:
                source = self._plain.loader.get_source(self._plain, name)[0]  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                source = ""
            self._sources[name] = source.split("\n")
        lines = self._sources[name]
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def locate(self, rendered: Rendered, line: int, column: int | None) -> TemplatePosition:
        """The template position of rendered `line`:`column` (see module doc)."""
        origin = rendered.origins[line - 1] if 0 < line <= len(rendered.origins) else None
        if origin is None:
            return TemplatePosition(str(self.path), None, None, exact=False)
        name, template_line = origin
        file = str(self.path.parent / name)
        if column is None:
            return TemplatePosition(file, template_line, None)
        source = self.source_line(name, template_line)
        mapped = template_column(source, rendered.line_text(line), column)
        return TemplatePosition(file, template_line, mapped)


def _message(exc: jinja2.TemplateError) -> str:
    kind = {
        jinja2.UndefinedError: "undefined",
        jinja2.TemplateSyntaxError: "template syntax error",
    }.get(type(exc), "template error")
    text = exc.message if isinstance(exc, jinja2.TemplateSyntaxError) else str(exc)
    return f"{kind}: {text}"


def _is_template(frame: traceback.FrameSummary) -> bool:
    return not frame.filename.endswith(".py") and not frame.filename.startswith("<frozen")


def undefined_name(message: str) -> str | None:
    """The name in jinja's "'x' is undefined" (or "has no attribute 'x'"), if any."""
    match = _UNDEFINED_NAME.search(message)
    return next((g for g in match.groups() if g), None) if match else None


def _name_column(source_line: str, message: str) -> int | None:
    """Column (1-based) of the undefined name in its line's first tag, else of the first tag."""
    name = undefined_name(message)
    for tag in _TAG.finditer(source_line):
        if name is None:
            return tag.start() + 1
        found = re.search(rf"\b{re.escape(name)}\b", tag.group())
        if found:
            return tag.start() + found.start() + 1
    return None


def _origins(marked: str) -> tuple[tuple[str, int] | None, ...]:
    """Per rendered line: the (template name, line) of the last marker on it, else the next."""
    lines = marked.split("\n")
    found: list[tuple[str, int] | None] = []
    for line in lines:
        marks = _MARK.findall(line)
        found.append((marks[-1][0], int(marks[-1][1])) if marks else None)
    following: tuple[str, int] | None = None
    for index in range(len(found) - 1, -1, -1):
        if found[index] is None:
            found[index] = following
        else:
            following = found[index]
    return tuple(found)


def template_column(template_line: str, rendered_line: str, column: int) -> int:
    """Map a 1-based column of a rendered line to its template line (see module doc)."""
    if _TAG.search(template_line) is None:
        return column
    target = column - 1
    position = 0
    tag_start: int | None = None
    cursor = 0
    for tag in [*_TAG.finditer(template_line), None]:
        end = tag.start() if tag is not None else len(template_line)
        literal = template_line[cursor:end]
        if literal:
            found = rendered_line.find(literal, position) if tag_start is not None else position
            if tag_start is None and not rendered_line.startswith(literal):
                return 1
            if found < 0:
                break
            if target < found:
                return (tag_start if tag_start is not None else 0) + 1
            if target < found + len(literal):
                return cursor + (target - found) + 1
            position = found + len(literal)
        if tag is None:
            break
        tag_start = tag.start()
        cursor = tag.end()
    return (tag_start if tag_start is not None else 0) + 1
