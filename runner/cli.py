"""The `scenario` command: the only place that prints and exits.

Exit codes: 0 ok, 1 the run failed, 2 bad input (`ScenarioError`), 130 interrupted.
Heavy modules (pydantic models, the executor, the embedded server) are imported
inside the subcommand that needs them, so `scenario --help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from runner.errors import RunError, RunnerError, ScenarioError

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _validate(args: argparse.Namespace) -> int:
    from runner.load import load_scenario

    status = EXIT_OK
    for file in args.files:
        try:
            load_scenario(file)
        except ScenarioError as exc:
            _print_problems(exc)
            status = EXIT_BAD_INPUT
        else:
            print(f"{file}: ok")
    return status


def _plan(args: argparse.Namespace) -> int:
    from runner.compile import compile_plan
    from runner.load import load_scenario
    from runner.plan_format import format_plan, plan_to_dict

    plan = compile_plan(load_scenario(args.file), source=Path(args.file))
    if args.json:
        print(json.dumps(plan_to_dict(plan), indent=2))
    else:
        print("\n".join(format_plan(plan)))
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from runner.spec import schema_json

    sys.stdout.write(schema_json())
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from runner.compile import compile_plan
    from runner.load import load_scenario

    plan = compile_plan(load_scenario(args.file), source=Path(args.file))
    try:
        from runner.execute import run_plan
    except ModuleNotFoundError as exc:
        raise RunError(f"cannot run: module {exc.name} is missing") from exc

    result = run_plan(
        plan, host=args.host, port=args.port, out_dir=Path(args.out), maps_dirs=args.maps_dir
    )
    print("\n".join(result.summary_lines()))
    return EXIT_OK


def _server(args: argparse.Namespace) -> int:
    from runner.sim.server import serve_forever

    serve_forever(args.host, args.port, args.maps_dir)
    return EXIT_OK


def _cleanup(args: argparse.Namespace) -> int:
    from runner.cleanup import cleanup_run

    cleanup_run(Path(args.run_dir or "outputs"))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand stores its handler in `handler`."""
    parser = argparse.ArgumentParser(prog="scenario", description="Declarative CARLA scenarios.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cmd = sub.add_parser("validate", help="check scenario files offline (exit 2 on errors)")
    cmd.add_argument("files", nargs="+", metavar="FILE")
    cmd.set_defaults(handler=_validate)

    cmd = sub.add_parser("plan", help="print the compiled plan without touching a server")
    cmd.add_argument("file", metavar="FILE")
    cmd.add_argument("--json", action="store_true", help="print the plan as JSON")
    cmd.set_defaults(handler=_plan)

    cmd = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    cmd.set_defaults(handler=_schema)

    cmd = sub.add_parser("run", help="run a scenario and write its dataset")
    cmd.add_argument("file", metavar="FILE")
    cmd.add_argument("--host", help="CARLA server host (overrides the scenario)")
    cmd.add_argument("--port", type=int, help="CARLA server port (overrides the scenario)")
    cmd.add_argument("--out", default="outputs", metavar="DIR", help="output root (outputs)")
    _maps_dir_option(cmd)
    cmd.set_defaults(handler=_run)

    cmd = sub.add_parser("server", help="run the embedded CARLA-compatible simulator")
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.add_argument("--port", type=int, default=2000)
    _maps_dir_option(cmd)
    cmd.set_defaults(handler=_server)

    cmd = sub.add_parser("cleanup", help="restore a server left in synchronous mode by a run")
    cmd.add_argument(
        "run_dir", nargs="?", metavar="RUN_DIR", help="a run folder (default: outputs)"
    )
    cmd.set_defaults(handler=_cleanup)
    return parser


def _maps_dir_option(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--maps-dir", action="append", default=[], metavar="DIR", help="extra .xodr folder"
    )


def _print_problems(exc: ScenarioError) -> None:
    for problem in exc.problems:
        print(str(problem), file=sys.stderr)


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the subcommand and return its exit code (for tests)."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ScenarioError as exc:
        _print_problems(exc)
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
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - a reader such as `head` left early
        return EXIT_OK


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point: `scenario ...` and `python -m runner ...`."""
    sys.exit(run_cli(argv))
