"""`python -m runner.sim`: the embedded server as a process (what EmbeddedServer starts)."""

from __future__ import annotations

import argparse

from runner.catalog import DEFAULT_MAP
from runner.sim.server import serve_forever


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m runner.sim")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2000)
    parser.add_argument("--maps-dir", action="append", default=[])
    parser.add_argument("--map", default=DEFAULT_MAP)
    args = parser.parse_args()
    serve_forever(args.host, args.port, args.maps_dir, args.map)


if __name__ == "__main__":
    main()
