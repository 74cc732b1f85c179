"""The YAML reader: positions, limits, anchors and merge keys, and the line map."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ScenarioError
from runner.load import MAX_FILE_BYTES, dotted, load_scenario, parse_scenario

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, file="t.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_scenarios_are_valid(path: Path) -> None:
    load_scenario(path)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_scenarios_point_editors_at_the_schema(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/scenario.schema.json"


def test_line_map_names_actor_and_sensor_lines() -> None:
    s = load_scenario(SCENARIOS / "rainy_town03.yaml")
    text = (SCENARIOS / "rainy_town03.yaml").read_text().splitlines()
    ego_line = s.line_of("actors", "ego")
    assert ego_line is not None and text[ego_line - 1].strip() == "ego:"
    prop_line = s.line_of("actors", "props", 0)
    assert prop_line is not None and "static.prop.fountain" in text[prop_line - 1]


def test_anchors_and_merge_keys_are_supported() -> None:
    s = parse_scenario(
        "map: Town03\n"
        "actors: {ego: {}}\n"
        "sensors:\n"
        "  a: &cam {type: rgb, transform: {x: 1.5, z: 2.4}}\n"
        "  b:\n"
        "    <<: *cam\n"
        "    type: depth\n"
    )
    assert s.sensors["b"].type == "depth"
    assert s.sensors["b"].transform == s.sensors["a"].transform


def test_yaml_keys_are_read_as_written() -> None:
    """`on:` and `1:` stay strings: YAML 1.1 would turn them into True and 1."""
    (message,) = problems("map: Town03\non: 1\n")
    assert "unknown key 'on'" in message


def test_unknown_key_points_at_the_key_and_bad_value_at_the_value() -> None:
    (unknown,) = problems("map: Town03\nrun:\n  tics: 3\n")
    assert unknown.startswith("t.yaml:3:3: run.tics: unknown key 'tics'; did you mean 'ticks'?")
    (bad,) = problems("map: Town03\nrun:\n  ticks: -1\n")
    assert bad.startswith("t.yaml:3:10: run.ticks:")


def test_missing_field_points_at_the_parent_mapping() -> None:
    (message,) = problems("map: Town03\nactors:\n  props:\n    - name: x\n")
    assert message.startswith("t.yaml:4:7: actors.props[0].blueprint: missing required field")


def test_text_longer_than_the_limit_is_refused() -> None:
    (message,) = problems("#" * (MAX_FILE_BYTES + 1))
    assert "limit is 1 MB" in message


def test_scalar_top_level_is_refused() -> None:
    (message,) = problems("just words\n")
    assert "top level is a single value" in message


def test_all_problems_are_reported_sorted_by_line() -> None:
    lines = problems("map: Nowhere\nrun: {ticks: 0}\nseed: -1\n")
    assert [m.split(":")[1] for m in lines] == ["1", "2", "3"]


def test_dotted_paths() -> None:
    assert dotted(("actors", "props", 0, "blueprint")) == "actors.props[0].blueprint"
    assert dotted(()) == ""
