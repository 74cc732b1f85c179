"""`python -m runner.sim`: the embedded server as a process (what EmbeddedServer starts)."""

from __future__ import annotations

import argparse

from runner.catalog import DEFAULT_MAP
from runner.settings import Settings
from runner.sim.server import serve_forever


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
        default=Settings.from_env().sim_client_tm,
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
