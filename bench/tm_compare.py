"""Our Traffic Manager beside CARLA's in-client TM on the issue-2 run (50 cars, Town03).

Each run is a child process with a deadline, so an in-client TM that hangs in
`world.tick()` (carla#9172) is counted as a hang instead of freezing the bench. Prints
each run's figures and, per TM, the hang count. Usage:
    python bench/tm_compare.py [--runs N] [--ticks N] [--deadline-s S] [--only server|client]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MAPS = ROOT.parent / "shared" / "maps"
KINDS = {"server": "server TM", "client": "in-client TM"}


def child(kind: str, ticks: int, maps_dir: str) -> None:
    """One run on a fresh embedded server; prints its figures as one JSON line."""
    import carla

    from runner.sim.process import EmbeddedServer
    from tests.test_traffic_manager import drive_town03

    if kind == "client":
        os.environ["RUNNER_SIM_CLIENT_TM"] = "1"  # the server leaves TM ports to the client
    with EmbeddedServer(maps_dirs=[maps_dir]) as server:
        client = carla.Client(server.host, server.port)
        client.set_timeout(30.0)
        figures = drive_town03(client, ticks=ticks)
    print("FIGURES " + json.dumps(asdict(figures)), flush=True)


def run_once(kind: str, ticks: int, maps_dir: str, deadline_s: float) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--child", kind, "--ticks", str(ticks), "--maps-dir", maps_dir]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        out, _ = proc.communicate(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        proc.kill()  # a hung in-client TM ignores SIGINT/SIGTERM
        proc.communicate()
        return None
    for line in out.splitlines():
        if line.startswith("FIGURES "):
            return dict(json.loads(line[len("FIGURES ") :]))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--deadline-s", type=float, default=300.0)
    parser.add_argument("--maps-dir", default=str(MAPS))
    parser.add_argument("--only", choices=sorted(KINDS))
    parser.add_argument("--child", choices=sorted(KINDS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.ticks, args.maps_dir)
        return
    from tests.test_traffic_manager import Figures

    kinds = [args.only] if args.only else ["server", "client"]
    hangs = dict.fromkeys(kinds, 0)
    for run in range(args.runs):
        for kind in kinds:
            got = run_once(kind, args.ticks, args.maps_dir, args.deadline_s)
            if got is None:
                hangs[kind] += 1
                print(f"run {run + 1} {KINDS[kind]}: no result within {args.deadline_s:.0f} s")
            else:
                print(f"run {run + 1} " + Figures(**got).report(KINDS[kind]), flush=True)
    for kind in kinds:
        print(f"{KINDS[kind]}: {hangs[kind]} of {args.runs} runs hung or failed")


if __name__ == "__main__":
    main()
