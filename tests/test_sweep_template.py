"""Pure tests of sweep templates: rendering, line mapping, errors with template lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ScenarioError
from runner.sweep.resolve import VariantProblem, resolve_sweep
from runner.sweep.template import SweepTemplate, TemplateError, template_column

HEADER = "{# sweep:\n  seed: 3\n  grid:\n    town: [GridTown, CrossTown]\n    n: [1, 2]\n#}\n"
TOWNS = "{# sweep:\n  seed: 3\n  grid:\n    town: [GridTown, CrossTown]\n#}\n"


def write(tmp_path: Path, body: str, header: str = HEADER, name: str = "t.yaml.j2") -> Path:
    path = tmp_path / name
    path.write_text(header + body)
    return path


def problems_of(path: Path, **kwargs: object) -> list[VariantProblem]:
    with pytest.raises(ScenarioError) as exc:
        resolve_sweep(path, **kwargs)  # type: ignore[arg-type]
    return list(exc.value.problems)  # type: ignore[arg-type]


def test_every_variant_renders_validated_with_derived_seed(tmp_path: Path) -> None:
    body = "name: t\nmap: {{ town }}\nactors:\n  vehicles:\n    count: {{ n }}\nrun: {ticks: 2}\n"
    sweep = resolve_sweep(write(tmp_path, body))
    assert [v.name for v in sweep.variants] == [
        "t/town=GridTown,n=1", "t/town=GridTown,n=2", "t/town=CrossTown,n=1",
        "t/town=CrossTown,n=2",
    ]  # fmt: skip
    first = sweep.variants[0]
    assert first.scenario.map == "GridTown"
    assert first.scenario.actors.vehicles.count == 1
    assert first.scenario.seed == first.variant.seed  # the template set no seed
    assert len({v.sha256 for v in sweep.variants}) == 4
    assert first.text.startswith("# Sweep variant t/town=GridTown,n=1")


def test_validation_error_names_variant_template_line_and_rendered_line(tmp_path: Path) -> None:
    body = (
        "name: t\n"
        "{% if n == 2 %}\n"
        "description: two\n"
        "{% endif %}\n"
        "map: {{ town }}\n"
        "weather: {{ 'Clear' ~ 'Noun' }}\n"
        "run: {ticks: 2}\n"
    )
    path = write(tmp_path, body)
    (problem,) = problems_of(path, grid=["town=GridTown"])
    assert problem.variants == ("t/town=GridTown,n=1", "t/town=GridTown,n=2")
    assert (problem.file, problem.line, problem.column) == (str(path), 12, 10)
    assert problem.field == "weather"
    assert problem.rendered_text == "weather: ClearNoun"
    text = str(problem)
    assert f"{path}:12:10: weather: unknown weather preset 'ClearNoun'" in text
    assert "rendered line" in text and "weather: ClearNoun" in text


def test_error_inside_a_loop_maps_to_the_loop_body(tmp_path: Path) -> None:
    body = (
        "name: t\n"
        "map: {{ town }}\n"
        "actors:\n"
        "  props:\n"
        "{% for i in range(n) %}\n"
        "    - blueprint: static.prop.{{ 'streetbarrier' if i == 0 else 'nosuchprop' }}\n"
        "      transform: {x: {{ i * 5 }}}\n"
        "{% endfor %}\n"
    )
    path = write(tmp_path, body)
    (problem,) = problems_of(path, grid=["town=GridTown"])
    assert problem.variants == ("t/town=GridTown,n=2",)
    assert (problem.line, problem.column) == (12, 18)
    assert problem.rendered_text == "    - blueprint: static.prop.nosuchprop"


def test_undefined_variable_names_its_line_and_column(tmp_path: Path) -> None:
    body = "name: t\nmap: {{ town }}\nrun:\n  ticks: {{ n }}\ndescription: {{ towm }}\n"
    (problem,) = problems_of(write(tmp_path, body))
    assert (problem.line, problem.column) == (11, 17)
    assert "'towm' is undefined" in problem.message
    assert problem.hint == "did you mean 'town'?"
    assert len(problem.variants) == 4


def test_syntax_error_is_reported_once_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nmap: {{ town }\n")
    (problem,) = problems_of(path)
    assert (problem.file, problem.line) == (str(path), 8)
    assert "template syntax error" in problem.message


def test_sandbox_refuses_unsafe_attribute_access(tmp_path: Path) -> None:
    body = "name: t\nmap: {{ town }}\ndescription: {{ town.__class__.__mro__ }}\n"
    (problem,) = problems_of(write(tmp_path, body, header=TOWNS))
    assert problem.line == 8
    assert "unsafe" in problem.message or "__class__" in problem.message


def test_unused_grid_parameter_is_an_error_at_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nmap: {{ town }}\nrun: {ticks: {{ m }}}\n")
    (problem,) = problems_of(path)
    assert (problem.file, problem.line, problem.column, problem.field) == (str(path), 5, 5, "n")
    assert "not used by the template" in problem.message


def test_includes_render_and_map_to_the_included_file(tmp_path: Path) -> None:
    rig = "sensors:\n  cam:\n    type: {{ kind }}\n    attach_to: world\n"
    (tmp_path / "rig.yaml.j2").write_text(rig)
    header = "{# sweep:\n  grid:\n    kind: [rgb, radar]\n#}\n"
    path = write(tmp_path, "name: t\nmap: GridTown\n{% include 'rig.yaml.j2' %}\n", header)
    (problem,) = problems_of(path)
    assert problem.variants == ("t/kind=radar",)
    assert (Path(problem.file).name, problem.line, problem.column) == ("rig.yaml.j2", 3, 11)


def test_template_column_mapping() -> None:
    assert template_column("map: {{ map }}", "map: Town03", 6) == 6
    assert template_column("map: {{ map }}", "map: Town03", 2) == 2
    line = "  - {x: {{ a }}, y: {{ b }}}"
    rendered = "  - {x: 10, y: 200}"
    assert template_column(line, rendered, rendered.index("y") + 1) == line.index("y") + 1
    assert template_column(line, rendered, rendered.index("200") + 1) == line.index("{{ b") + 1
    assert template_column("plain: 1", "plain: 1", 8) == 8


def test_line_origins_survive_multiline_values(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml.j2"
    path.write_text("a: 1\n{{ block }}\nb: {{ x }}\n")
    rendered = SweepTemplate(path).render({"block": "c: 1\nd: 2", "x": 3})
    assert rendered.text == "a: 1\nc: 1\nd: 2\nb: 3\n"
    assert rendered.exact
    assert [o[1] if o else None for o in rendered.origins[:4]] == [1, 2, 2, 3]
    with pytest.raises(TemplateError) as exc:
        SweepTemplate(path).render({"block": "x"})
    assert exc.value.position.line == 3
