"""Sweep file -> every variant rendered, overridden and validated, before anything runs.

For a template, each grid point renders with the point's plain-named parameters as
variables plus `variant` (name, seed, params) and `sweep` (name, seed); dotted
parameter names (`actors.vehicles.count`) and `--set` options are overrides on the
rendered scenario. For a plain scenario file every parameter is an override. A
parameter named `seed` is a replicate label: it only enters the variant's seed.

The variant's resolved scenario is the rendered YAML with the overrides applied, its
`seed` set to the variant seed unless the template sets one (plain files: always),
and a relative `.xodr` map made absolute; that text is validated, hashed and, by the
executor, written where its run goes. Problems are collected over all variants and
each names the variant, the template's file:line:column and the rendered line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runner.errors import Problem, ScenarioError
from runner.suggest import did_you_mean
from runner.sweep.grid import GridError, expand, grid_option
from runner.sweep.overrides import (
    Override,
    apply_overrides,
    blame,
    dump_yaml,
    parse_set,
    validate_text,
)
from runner.sweep.sweepfile import SweepFile, read_sweep_file
from runner.sweep.template import Rendered, SweepTemplate, TemplateError, undefined_name
from runner.sweep.variants import Variant, format_value
from runner.sweep.yamlpos import parse_dotted, positions

RESERVED = ("variant", "sweep")
_RENDERED = "<rendered>"
MAX_LISTED_VARIANTS = 3


@dataclass(frozen=True)
class VariantProblem(Problem):
    """A problem in one or more variants, at the template position, with the rendered line."""

    variants: tuple[str, ...] = ()
    rendered_line: int | None = None
    rendered_text: str | None = None

    def __str__(self) -> str:
        shown = ", ".join(self.variants[:MAX_LISTED_VARIANTS])
        more = len(self.variants) - MAX_LISTED_VARIANTS
        head = f"{shown} (and {more} more variants)" if more > 0 else shown
        text = f"{head}: {Problem.__str__(self)}" if head else Problem.__str__(self)
        if self.rendered_line is not None:
            text += f"\n    rendered line {self.rendered_line}: {self.rendered_text}"
        return text


@dataclass(frozen=True)
class ResolvedVariant:
    """A variant ready to run: its resolved scenario text, that text's hash, the model."""

    variant: Variant
    text: str
    sha256: str
    scenario: Any

    @property
    def name(self) -> str:
        return self.variant.name


@dataclass(frozen=True)
class Sweep:
    """A validated sweep."""

    file: SweepFile
    variants: tuple[ResolvedVariant, ...]
    master_seed: int

    @property
    def name(self) -> str:
        return self.file.name


def resolve_sweep(
    path: str | Path,
    *,
    grid: Sequence[str] = (),
    sets: Sequence[str] = (),
    maps_dirs: Sequence[Path] = (),
) -> Sweep:
    """Read, expand, render and validate; raises one `ScenarioError` listing every problem."""
    from runner.load import read_text

    source = Path(path)
    text = read_text(source)
    try:
        axes = [grid_option(g) for g in grid]
    except GridError as exc:
        raise ScenarioError([Problem("--grid", None, None, "", exc.message, exc.hint)]) from None
    sweep_file = read_sweep_file(source, text, axes)
    overrides = [parse_set(s) for s in sets]
    try:
        points = expand(sweep_file.grid)
    except GridError as exc:
        raise ScenarioError(
            [Problem(str(sweep_file.spec_file or source), None, None, "", exc.message, exc.hint)]
        ) from None
    resolver = _Resolver(sweep_file, overrides, maps_dirs)
    variants: list[ResolvedVariant] = []
    problems: list[Problem] = []
    for params in points:
        try:
            variants.append(resolver.variant(params))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(_grouped(problems))
    return Sweep(sweep_file, tuple(variants), resolver.master_seed)


class _Resolver:
    """Turns grid points into resolved variants (the per-sweep state of `resolve_sweep`)."""

    def __init__(
        self, sweep_file: SweepFile, overrides: Sequence[Override], maps_dirs: Sequence[Path]
    ) -> None:
        self.file = sweep_file
        self.overrides = list(overrides)
        self.maps_dirs = maps_dirs
        self.base_dir = sweep_file.path.parent
        self.template: SweepTemplate | None = None
        self._check_conflicts()
        if sweep_file.is_template:
            self.template = self._compile()
            self.master_seed = sweep_file.master_seed or 0
        else:
            self.master_seed = self._plain_master_seed()

    def _check_conflicts(self) -> None:
        names = set(self.file.grid.names())
        for override in self.overrides:
            if ".".join(map(str, override.path)) in names:
                message = "sets a grid parameter; change the grid instead"
                raise ScenarioError([Problem(override.source, None, None, "", message)])
        for name in RESERVED:
            if name in names:
                message = f"{name!r} is a reserved template variable; rename the parameter"
                raise ScenarioError([self.file.param_problem(name, message)])

    def _compile(self) -> SweepTemplate:
        try:
            template = SweepTemplate(self.file.path)
        except TemplateError as exc:
            pos = exc.position
            raise ScenarioError(
                [Problem(pos.file, pos.line, pos.column, "", exc.message)]
            ) from None
        used = template.referenced_names()
        unused = [
            self.file.param_problem(
                name,
                f"grid parameter {name!r} is not used by the template",
                did_you_mean(name, used - set(RESERVED)),
            )
            for name in self.file.grid.names()
            if name.isidentifier() and name != "seed" and name not in used
        ]
        if unused:
            raise ScenarioError(unused)
        return template

    def _plain_master_seed(self) -> int:
        """A plain file's own `seed` (after --set) is the sweep's master seed."""
        text = self.file.text
        validate_text(
            text, file=str(self.file.path), base_dir=self.base_dir, maps_dirs=self.maps_dirs
        )
        seed = yaml.safe_load(text).get("seed", 0)
        for override in self.overrides:
            if override.path == ("seed",):
                seed = override.value
        return seed if type(seed) is int else 0

    def variant(self, params: dict[str, Any]) -> ResolvedVariant:
        variant = Variant.create(self.file.name, params, self.master_seed)
        rendered = self._render(variant)
        data = yaml.safe_load(rendered.text)
        overrides = [*self._param_overrides(variant), *self.overrides]
        if self._needs_seed(data):
            overrides.append(Override(("seed",), variant.seed, f"variant seed {variant.seed}"))
        overrides += self._absolute_map(apply_overrides(data, overrides))
        header = (
            f"# Sweep variant {variant.name} (seed {variant.seed}) from {self.file.path.name}\n"
        )
        text = header + dump_yaml(apply_overrides(data, overrides))
        try:
            scenario = validate_text(
                text, file=_RENDERED, base_dir=self.base_dir, maps_dirs=self.maps_dirs
            )
        except ScenarioError as exc:
            found = blame(exc.problems, overrides, _RENDERED, positions(rendered.text))
            raise ScenarioError([self._locate(p, variant, rendered) for p in found]) from None
        digest = hashlib.sha256(text.encode()).hexdigest()
        return ResolvedVariant(variant, text, digest, scenario)

    def _needs_seed(self, data: dict[str, Any]) -> bool:
        """Plain files always take the variant seed; templates unless they or --set give one."""
        if self.template is None:
            return True
        return "seed" not in data and not any(o.path == ("seed",) for o in self.overrides)

    def _render(self, variant: Variant) -> Rendered:
        """The variant's scenario text (validated; a plain file was validated once before)."""
        if self.template is None:
            text = self.file.text
            origins = tuple((self.file.path.name, i + 1) for i in range(text.count("\n") + 1))
            return Rendered(text, origins, exact=True)
        context = self._context(variant)
        try:
            rendered = self.template.render(context)
        except TemplateError as exc:
            pos = exc.position
            name = undefined_name(exc.message)
            hint = did_you_mean(name, context) if name else None
            problem = VariantProblem(
                pos.file, pos.line, pos.column, "", exc.message, hint, variants=(variant.name,)
            )
            raise ScenarioError([problem]) from None
        try:
            validate_text(
                rendered.text, file=_RENDERED, base_dir=self.base_dir, maps_dirs=self.maps_dirs
            )
        except ScenarioError as exc:
            raise ScenarioError(
                [self._locate(p, variant, rendered) for p in exc.problems]
            ) from None
        return rendered

    def _context(self, variant: Variant) -> dict[str, Any]:
        params = variant.params
        context: dict[str, Any] = {k: v for k, v in params.items() if k.isidentifier()}
        context["variant"] = {
            "name": variant.name,
            "label": variant.label,
            "seed": variant.seed,
            "params": params,
        }
        context["sweep"] = {"name": self.file.name, "seed": self.master_seed}
        return context

    def _param_overrides(self, variant: Variant) -> list[Override]:
        out = []
        for name, value in variant.params.items():
            if name == "seed" or (self.template is not None and name.isidentifier()):
                continue
            path = parse_dotted(name)
            if path is None:
                message = f"grid parameter {name!r} is not a dotted scenario path"
                raise ScenarioError([self.file.param_problem(name, message)])
            out.append(Override(path, value, f"grid {name}={format_value(value)}"))
        return out

    def _absolute_map(self, data: dict[str, Any]) -> list[Override]:
        """A relative .xodr map is relative to the sweep file; the resolved file lives elsewhere."""
        value = data.get("map")
        if isinstance(value, str) and value.strip().lower().endswith(".xodr"):
            map_path = Path(value.strip()).expanduser()
            if not map_path.is_absolute():
                absolute = str((self.base_dir / map_path).resolve())
                return [Override(("map",), absolute, "map path made absolute")]
        return []

    def _locate(self, problem: Problem, variant: Variant, rendered: Rendered) -> Problem:
        """A problem in rendered text, moved to its template position."""
        if problem.file != _RENDERED:
            return VariantProblem(
                problem.file,
                problem.line,
                problem.column,
                problem.field,
                problem.message,
                problem.hint,
                variants=(variant.name,),
            )
        file, line, column = str(self.file.path), None, None
        if problem.line is not None:
            if self.template is not None:
                pos = self.template.locate(rendered, problem.line, problem.column)
                file, line, column = pos.file, pos.line, pos.column
            else:
                line, column = problem.line, problem.column
        shown = problem.line if self.template is not None else None
        text = rendered.line_text(shown) if shown is not None else None
        return VariantProblem(
            file,
            line,
            column,
            problem.field,
            problem.message,
            problem.hint,
            variants=(variant.name,),
            rendered_line=shown,
            rendered_text=text,
        )


def _grouped(problems: Sequence[Problem]) -> list[Problem]:
    """One entry per distinct problem, listing the variants that have it."""
    groups: dict[tuple[Any, ...], list[Problem]] = {}
    for problem in problems:
        key = (
            problem.file,
            problem.line,
            problem.column,
            problem.field,
            problem.message,
            problem.hint,
            getattr(problem, "rendered_text", None),
        )
        groups.setdefault(key, []).append(problem)
    out: list[Problem] = []
    for members in groups.values():
        first = members[0]
        if not isinstance(first, VariantProblem):
            out.append(first)
            continue
        names = tuple(n for m in members for n in getattr(m, "variants", ()))
        out.append(
            VariantProblem(
                first.file,
                first.line,
                first.column,
                first.field,
                first.message,
                first.hint,
                variants=names,
                rendered_line=first.rendered_line,
                rendered_text=first.rendered_text,
            )
        )
    return out
