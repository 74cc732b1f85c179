"""`python -m runner.sim`: the embedded server as a process (what EmbeddedServer starts)."""

from __future__ import annotations

import argparse
import os

from runner.catalog import DEFAULT_MAP
from runner.sim.server import serve_forever

CLIENT_TM_ENV = "RUNNER_SIM_CLIENT_TM"
"""Set to 1: the same as --client-traffic-manager (how EmbeddedServer callers ask for it)."""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m runner.sim")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2000)
    parser.add_argument("--maps-dir", action="append", default=[])
    parser.add_argument("--map", default=DEFAULT_MAP)
    parser.add_argument(
        "--recordings-dir",
        default=None,
        help="the only folder recorder file names from clients may point into "
        "(default: $CARLA_SCENARIO_RECORDINGS or ~/.local/share/carla-scenario-runner/recordings)",
    )
    parser.add_argument(
        "--client-traffic-manager",
        action="store_true",
        default=os.environ.get(CLIENT_TM_ENV, "") not in ("", "0"),
        help="serve no Traffic Manager: each client runs CARLA's in-client TM",
    )
    args = parser.parse_args()
    serve_forever(
        args.host,
        args.port,
        args.maps_dir,
        args.map,
        serve_traffic_manager=not args.client_traffic_manager,
        recordings_dir=args.recordings_dir,
    )


if __name__ == "__main__":
    main()
