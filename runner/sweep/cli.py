"""The `sweep` subcommand, `--set` for `run`, and the sweep listing for `plan`.

    scenario sweep FILE [--workers N] [--server HOST:PORT ...] [--out DIR]
                        [--grid NAME=VALUES ...] [--set PATH=VALUE ...] [--force]
                        [--ray auto|ADDRESS] [--maps-dir DIR ...]

`register(subparsers)` adds the subcommand to the `scenario` parser; its handler
returns the exit code (0 all variants ok, 1 any failed) and raises the runner's
errors for `runner.cli` to translate (bad input 2, interrupted 130).
`python -m runner.sweep` is the same command on its own (see `main`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from runner.errors import RunError, RunnerError, ScenarioError

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """`--set PATH=VALUE` (repeatable) into `args.set`."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a scenario value, e.g. actors.vehicles.count=50 (repeatable)",
    )


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `sweep` to a `scenario` parser's subparsers; returns the new parser."""
    cmd: argparse.ArgumentParser = subparsers.add_parser(
        "sweep", help="run every variant of a sweep template (or of FILE under --grid)"
    )
    cmd.add_argument("file", metavar="FILE", help="a *.yaml.j2 sweep or a scenario file")
    cmd.add_argument(
        "--workers", type=int, metavar="N", help="parallel variants (default: cores / 2)"
    )
    cmd.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="a CARLA server to use, one variant at a time (repeatable); default: embedded",
    )
    cmd.add_argument("--out", default="outputs", metavar="DIR", help="output root (outputs)")
    cmd.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="an axis: NAME=a,b,c or NAME=1..5 (adds to or replaces the file's grid)",
    )
    add_set_option(cmd)
    cmd.add_argument("--force", action="store_true", help="rerun variants already complete")
    cmd.add_argument("--ray", metavar="auto|ADDRESS", help="run the variants as Ray tasks")
    cmd.add_argument(
        "--maps-dir", action="append", default=[], metavar="DIR", help="extra .xodr folder"
    )
    cmd.set_defaults(handler=sweep_command)
    return cmd


def maps_search_path(args: argparse.Namespace) -> list[Path]:
    """--maps-dir folders, then the environment's map search path."""
    from runner.mapsearch import search_dirs
    from runner.settings import Settings

    settings = getattr(args, "settings", None) or Settings.from_env()
    return search_dirs(settings, getattr(args, "maps_dir", []))


def default_workers() -> int:
    """Each variant is a runner and a server process: one variant per two cores."""
    return max(1, (os.cpu_count() or 2) // 2)


def sweep_command(args: argparse.Namespace) -> int:
    """Handler of `scenario sweep`."""
    from runner.sweep.console import ConsoleReporter
    from runner.sweep.resolve import resolve_sweep
    from runner.sweep.state import Endpoint, merge_exports, prepare

    try:
        servers = [Endpoint.parse(s) for s in args.server]
    except ValueError as exc:
        raise ScenarioError.single("--server", str(exc)) from None
    if args.workers is not None and args.workers < 1:
        raise ScenarioError.single("--workers", f"expected at least 1, got {args.workers}")
    maps_dirs = maps_search_path(args)
    sweep = resolve_sweep(args.file, grid=args.grid, sets=args.set, maps_dirs=maps_dirs)
    state, notes = prepare(sweep, Path(args.out), force=args.force)
    reporter = ConsoleReporter()
    reporter.prepared(state, notes)
    workers = args.workers or (len(servers) if servers else default_workers())
    try:
        if args.ray:
            from runner.sweep.ray import run_on_ray

            run_on_ray(
                state,
                reporter,
                address=args.ray,
                servers=servers,
                workers=args.workers,
                maps_dirs=maps_dirs,
            )
        else:
            from runner.sweep.executor import LocalExecutor

            LocalExecutor(
                state, reporter, workers=workers, servers=servers, maps_dirs=maps_dirs
            ).run()
    finally:
        state.save()
        merged = merge_exports(state) if not state.pending() else None
        reporter.summary(state, [merged] if merged else [])
    failed = [e for e in state.entries if not e.done]
    return EXIT_RUN_FAILED if failed else EXIT_OK


def plan_sweep(
    file: str | Path,
    *,
    as_json: bool = False,
    grid: Sequence[str] = (),
    sets: Sequence[str] = (),
    maps_dirs: Sequence[Path] = (),
    out: Path = Path("outputs"),
) -> str:
    """What `scenario plan SWEEP` prints: every variant, validated, without running any."""
    from runner.sweep.listing import sweep_listing, sweep_listing_json
    from runner.sweep.resolve import resolve_sweep

    sweep = resolve_sweep(file, grid=grid, sets=sets, maps_dirs=maps_dirs)
    if as_json:
        return json.dumps(sweep_listing_json(sweep, out), indent=2)
    return "\n".join(sweep_listing(sweep, out))


def _plan_command(args: argparse.Namespace) -> int:
    text = plan_sweep(
        args.file,
        as_json=args.json,
        grid=args.grid,
        sets=args.set,
        maps_dirs=maps_search_path(args),
        out=Path(args.out),
    )
    print(text)
    return EXIT_OK


def _run_command(args: argparse.Namespace) -> int:
    """`run FILE --set ...` (what `scenario run --set` does once wired in)."""
    from runner.compile import compile_plan
    from runner.execute import run_plan
    from runner.sweep.overrides import load_scenario_with_overrides

    maps_dirs = maps_search_path(args)
    scenario = load_scenario_with_overrides(args.file, args.set, maps_dirs=maps_dirs)
    plan = replace(compile_plan(scenario, source=Path(args.file)), overrides=tuple(args.set))
    result = run_plan(plan, out_dir=Path(args.out), maps_dirs=maps_dirs)
    print("\n".join(result.summary_lines()))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """`python -m runner.sweep` = `sweep`, plus `plan` and `run --set` for trying them."""
    parser = argparse.ArgumentParser(prog="python -m runner.sweep")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(sub)
    cmd = sub.add_parser("plan", help="list a sweep's variants without running them")
    cmd.add_argument("file", metavar="FILE")
    cmd.add_argument("--json", action="store_true")
    cmd.add_argument("--grid", action="append", default=[], metavar="NAME=VALUES")
    cmd.add_argument("--out", default="outputs", metavar="DIR", help="where to look for results")
    cmd.add_argument("--maps-dir", action="append", default=[], metavar="DIR")
    add_set_option(cmd)
    cmd.set_defaults(handler=_plan_command)
    cmd = sub.add_parser("run", help="run one scenario with --set overrides")
    cmd.add_argument("file", metavar="FILE")
    cmd.add_argument("--out", default="outputs", metavar="DIR")
    cmd.add_argument("--maps-dir", action="append", default=[], metavar="DIR")
    add_set_option(cmd)
    cmd.set_defaults(handler=_run_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and run; `FILE ...` without a command means `sweep FILE ...`."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in and args_in[0] not in ("sweep", "plan", "run", "-h", "--help"):
        args_in.insert(0, "sweep")
    args = build_parser().parse_args(args_in)
    try:
        code: int = args.handler(args)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return EXIT_BAD_INPUT
    except RunError as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except RunnerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code
