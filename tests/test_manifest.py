"""The manifest names what ran: the resolved scenario, its hash, and how to run it again."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import replace
from pathlib import Path

from runner.compile import compile_plan
from runner.manifest import RunRecord, build_manifest
from runner.sweep.overrides import load_scenario_with_overrides

SCENARIO = """\
name: resolved
map: GridTown
seed: 4
actors:
  vehicles: {count: 2}
run: {ticks: 5}
"""


def test_manifest_carries_the_resolved_scenario_and_the_overrides(tmp_path: Path) -> None:
    path = tmp_path / "resolved.yaml"
    path.write_text(SCENARIO)
    sets = ["weather=HardRainNoon", "actors.vehicles.count=7"]
    scenario = load_scenario_with_overrides(path, sets)
    plan = replace(compile_plan(scenario, source=path), overrides=tuple(sets))
    data = build_manifest(plan, RunRecord(run_id="r", run_dir=tmp_path))
    resolved = data["scenario"]["resolved"]
    assert resolved["actors"]["vehicles"]["count"] == 7
    assert resolved["weather"]["preset"] == "HardRainNoon"
    assert resolved["run"]["ticks"] == 5
    digest = hashlib.sha256(plan.resolved_scenario.encode()).hexdigest()
    assert data["scenario"]["resolved_sha256"] == digest
    command = shlex.split(data["reproduce"]["command"])
    assert command[:3] == ["scenario", "run", str(path)]
    assert command[3:] == ["--set", sets[0], "--set", sets[1]]


def test_equal_scenarios_resolve_to_the_same_hash(tmp_path: Path) -> None:
    path = tmp_path / "resolved.yaml"
    path.write_text(SCENARIO)
    first = compile_plan(load_scenario_with_overrides(path, ["seed=9"]), source=path)
    again = compile_plan(load_scenario_with_overrides(path, ["seed=9"]), source=path)
    other = compile_plan(load_scenario_with_overrides(path, ["seed=10"]), source=path)
    assert first.resolved_scenario == again.resolved_scenario
    assert first.resolved_scenario != other.resolved_scenario
