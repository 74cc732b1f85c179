"""The `scenario` command's offline subcommands: validate, plan, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli import EXIT_BAD_INPUT, EXIT_OK, run_cli
from runner.spec import schema_json

ROOT = Path(__file__).parent.parent
RAINY = ROOT / "scenarios" / "rainy_town03.yaml"
CORPUS = ROOT / "tests" / "bad_scenarios"


def test_validate_good_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["validate", str(RAINY), str(ROOT / "scenarios" / "builtin_town.yaml")]) == 0
    assert capsys.readouterr().out.count(": ok") == 2


def test_validate_reports_every_bad_file_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    bad = [CORPUS / "01_unknown_top_key.yaml", CORPUS / "21_binary.yaml"]
    assert run_cli(["validate", str(RAINY), *map(str, bad)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith(f"{bad[0]}:3:1: weahter: unknown key")
    assert "Traceback" not in "".join(err)


def test_plan_prints_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["plan", str(RAINY)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "SpawnProps" in out and "TickLoop" in out


def test_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["plan", str(RAINY), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "rainy_town03" and data["steps"][0]["step"] == "Connect"


def test_plan_of_a_bad_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["plan", str(CORPUS / "22_alias_bomb.yaml")]) == EXIT_BAD_INPUT
    assert "counting YAML aliases" in capsys.readouterr().err


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["schema"]) == EXIT_OK
    assert capsys.readouterr().out == schema_json()


def test_python_dash_m_runner_validates() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runner", "validate", str(CORPUS / "23_top_level_list.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_BAD_INPUT
    assert done.stderr.strip().endswith(
        "top level is a list; expected a mapping of scenario fields"
    )


def test_importing_the_cli_loads_no_heavy_modules() -> None:
    code = (
        "import sys, runner.cli, runner.compile, runner.load; "
        "print(sorted(m for m in ('carla', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
