"""The corpus of wrong scenario files: each names its expected problems in its header.

Header lines read `# expect: LINE[:COLUMN] FRAGMENT` (or `# expect: - FRAGMENT` for a
whole-file problem with no line).  A file must produce exactly one problem per
expect line, at that position, whose text contains the fragment.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner.errors import Problem, ScenarioError
from runner.load import load_scenario

CORPUS = Path(__file__).parent / "bad_scenarios"
_EXPECT = re.compile(rb"^# expect: (?:(\d+)(?::(\d+))?|-) (.+)$", re.MULTILINE)

Expectation = tuple[int | None, int | None, str]


def expectations(path: Path) -> list[Expectation]:
    """The expect lines of a corpus file (read as bytes: some files are not UTF-8)."""
    found = []
    for line, column, fragment in _EXPECT.findall(path.read_bytes()):
        found.append(
            (int(line) if line else None, int(column) if column else None, fragment.decode())
        )
    return found


def problems_of(path: Path) -> tuple[Problem, ...]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value.problems


def matches(problem: Problem, expected: Expectation) -> bool:
    line, column, fragment = expected
    same_place = problem.line == line and (column is None or problem.column == column)
    return same_place and fragment in str(problem)


def test_corpus_is_large_enough() -> None:
    assert len(list(CORPUS.glob("*.yaml"))) >= 30


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_scenario_reports_expected_problems(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' header"
    problems = problems_of(path)
    shown = "\n".join(str(p) for p in problems)
    assert len(problems) == len(expected), shown
    for item in expected:
        assert any(matches(p, item) for p in problems), f"{item} not in:\n{shown}"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_problem_names_the_file_and_is_one_line(path: Path) -> None:
    for problem in problems_of(path):
        text = str(problem)
        assert text.startswith(str(path))
        assert "\n" not in text


def test_ten_megabytes_of_junk_is_refused_before_parsing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"x: [" + b"junk, " * (10 * 1024 * 1024 // 6))
    (problem,) = problems_of(junk)
    assert problem.line is None
    assert "limited to 1 MB" in str(problem)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "absent.yaml")
    assert "cannot read file" in str(problem)
