"""The `scenario` command: the only place that prints and exits.

Exit codes (one place, `run_cli`): 0 ok, 1 the run failed (`RunError`), 2 bad input
(`ScenarioError`), 3 an internal error (a bug: its traceback goes to a log file whose
path is printed, never a bare traceback), 130 interrupted. The environment is read
once here (`Settings.from_env`) and passed down. Heavy modules (pydantic models, the
executor, the embedded server) are imported inside the subcommand that needs them,
so `scenario --help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from runner.errors import RunError, RunnerError, ScenarioError
from runner.settings import APP_DIR, Settings

if TYPE_CHECKING:
    from runner.plan import Plan

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def _maps_dirs(args: argparse.Namespace) -> list[Path]:
    """The map search path for this command: --maps-dir first, then the environment's."""
    from runner.mapsearch import search_dirs

    return search_dirs(args.settings, args.maps_dir)


def _validate(args: argparse.Namespace) -> int:
    from runner.load import load_scenario

    status = EXIT_OK
    maps_dirs = _maps_dirs(args)
    for file in args.files:
        try:
            load_scenario(file, maps_dirs=maps_dirs)
        except ScenarioError as exc:
            _print_problems(exc)
            status = EXIT_BAD_INPUT
        else:
            print(f"{file}: ok")
    return status


def _compiled(args: argparse.Namespace) -> Plan:
    """The file's plan, retargeted to --host/--port: what `plan` prints is what `run` runs."""
    from runner.compile import compile_plan, retarget
    from runner.sweep.overrides import load_scenario_with_overrides

    sets = getattr(args, "set", [])
    scenario = load_scenario_with_overrides(args.file, sets, maps_dirs=_maps_dirs(args))
    plan = replace(compile_plan(scenario, source=Path(args.file)), overrides=tuple(sets))
    return retarget(plan, args.host, args.port)


def _plan(args: argparse.Namespace) -> int:
    from runner.plan_format import format_plan, plan_to_dict
    from runner.sweep.sweepfile import is_sweep_file

    if is_sweep_file(args.file):
        from runner.sweep.cli import plan_sweep

        print(plan_sweep(args.file, as_json=args.json, maps_dirs=_maps_dirs(args)))
        return EXIT_OK
    plan = _compiled(args)
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
    plan = _compiled(args)
    try:
        from runner.execute import run_plan
        from runner.tick_loop import fault_hooks
    except ModuleNotFoundError as exc:
        raise RunError(f"cannot run: module {exc.name} is missing") from exc

    env: Settings = args.settings
    hooks = fault_hooks(
        fail_at=env.fault_at_tick, block_at=env.fault_block_tick, deadline_s=env.tick_deadline_s
    )
    result = run_plan(plan, out_dir=Path(args.out), maps_dirs=_maps_dirs(args), hooks=hooks)
    print("\n".join(result.summary_lines()))
    return EXIT_OK


def _server(args: argparse.Namespace) -> int:
    """Become `python -m runner.sim` (the simulator's own entry point), in this process."""
    command = [sys.executable, "-m", "runner.sim", "--host", args.host, "--port", str(args.port)]
    for folder in _maps_dirs(args):
        command += ["--maps-dir", str(folder)]
    if args.recordings_dir:
        command += ["--recordings-dir", args.recordings_dir]
    if args.client_traffic_manager:
        command.append("--client-traffic-manager")
    sys.stdout.flush()
    os.execv(sys.executable, command)


def _cleanup(args: argparse.Namespace) -> int:
    from runner.cleanup import cleanup_run

    report = cleanup_run(Path(args.run_dir or "outputs"))
    print("\n".join(report.summary_lines()))
    return EXIT_OK


def _coco_merge(args: argparse.Namespace) -> int:
    from runner.export.coco import merge_coco

    counts = merge_coco(Path(args.out), [Path(d) for d in args.run_dirs])
    detail = ", ".join(f"{n} {what}" for what, n in counts.items())
    print(f"{args.out}: {detail}")
    return EXIT_OK


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """The argument parser; each subcommand stores its handler in `handler`."""
    from runner.sweep.cli import add_set_option, register

    env = settings or Settings()
    parser = argparse.ArgumentParser(prog="scenario", description="Declarative CARLA scenarios.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cmd = sub.add_parser("validate", help="check scenario files offline (exit 2 on errors)")
    cmd.add_argument("files", nargs="+", metavar="FILE")
    _maps_dir_option(cmd)
    cmd.set_defaults(handler=_validate)

    cmd = sub.add_parser("plan", help="print the compiled plan (or a sweep's variants)")
    cmd.add_argument("file", metavar="FILE", help="a scenario file or a *.yaml.j2 sweep")
    cmd.add_argument("--json", action="store_true", help="print the plan as JSON")
    _server_options(cmd, env)
    _maps_dir_option(cmd)
    add_set_option(cmd)
    cmd.set_defaults(handler=_plan)

    cmd = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    cmd.set_defaults(handler=_schema)

    cmd = sub.add_parser("run", help="run a scenario and write its dataset")
    cmd.add_argument("file", metavar="FILE")
    _server_options(cmd, env)
    cmd.add_argument("--out", default="outputs", metavar="DIR", help="output root (outputs)")
    _maps_dir_option(cmd)
    add_set_option(cmd)
    cmd.set_defaults(handler=_run)

    register(sub)  # `scenario sweep` (runner.sweep.cli)

    cmd = sub.add_parser("server", help="run the embedded CARLA-compatible simulator")
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.add_argument("--port", type=int, default=2000)
    _maps_dir_option(cmd)
    cmd.add_argument(
        "--client-traffic-manager",
        action="store_true",
        help="serve no Traffic Manager: clients run CARLA's in-client TM (its exact behaviour)",
    )
    cmd.add_argument(
        "--recordings-dir", metavar="DIR", help="the only folder clients may record into"
    )
    cmd.set_defaults(handler=_server)

    cmd = sub.add_parser("coco-merge", help="merge the COCO files of runs (ids made unique)")
    cmd.add_argument("out", metavar="OUT.json")
    cmd.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    cmd.set_defaults(handler=_coco_merge)

    cmd = sub.add_parser("cleanup", help="remove what a killed run left on its server")
    cmd.add_argument(
        "run_dir", nargs="?", metavar="RUN_DIR", help="a run folder (default: outputs)"
    )
    cmd.set_defaults(handler=_cleanup)
    return parser


def _server_options(cmd: argparse.ArgumentParser, env: Settings) -> None:
    cmd.add_argument(
        "--host", default=env.carla_host, help="CARLA server host (overrides the scenario)"
    )
    cmd.add_argument(
        "--port", type=int, default=env.carla_port, help="CARLA server port (overrides it)"
    )


def _maps_dir_option(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--maps-dir", action="append", default=[], metavar="DIR", help="extra .xodr folder"
    )


def _print_problems(exc: ScenarioError) -> None:
    for problem in exc.problems:
        print(str(problem), file=sys.stderr)


def _log_internal_error(settings: Settings, exc: BaseException) -> Path:
    """Write the traceback of a bug to a log file; returns its path."""
    folder = settings.cache_home / APP_DIR / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"internal-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.write_text("".join(traceback.format_exception(exc)))
    return path


def _client_unusable(exc: RunError) -> bool:
    """A stuck tick or a dead server: the carla client cannot be shut down cleanly."""
    from runner.errors import ServerLost
    from runner.watchdog import TickStalled

    return isinstance(exc, TickStalled | ServerLost)


def _exit_now(code: int) -> NoReturn:
    """End the process without joining threads or running the client's destructors.

    After a stall the client's tick thread never returns, and a Traffic Manager whose
    server is gone aborts the process from its destructor (carla#6748); the run's
    manifest, lease and teardown are already done when this is called.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_cli(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    """Parse `argv`, run the subcommand and return its exit code (for tests)."""
    settings = settings or Settings.from_env()
    args = build_parser(settings).parse_args(argv)
    args.settings = settings
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ScenarioError as exc:
        _print_problems(exc)
        return EXIT_BAD_INPUT
    except RunError as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        for note in getattr(exc, "__notes__", ()):
            print(f"  {note}", file=sys.stderr)
        if _client_unusable(exc):
            _exit_now(EXIT_RUN_FAILED)
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
    except Exception as exc:
        path = _log_internal_error(settings, exc)
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"  this is a bug; the traceback is in {path}", file=sys.stderr)
        return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point: `scenario ...` and `python -m runner ...`."""
    sys.exit(run_cli(argv))
