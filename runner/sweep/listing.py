"""`scenario plan SWEEP`: the variants of a sweep, validated, and where each one stands."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from runner.sweep.index import attempts, completed_run, read_manifest
from runner.sweep.resolve import ResolvedVariant, Sweep


def variant_status(out: Path, sweep: Sweep, resolved: ResolvedVariant) -> str:
    """new (never ran), complete (resume skips it), changed (ran, scenario since changed),
    or the status of its last attempt (failed, interrupted, running)."""
    variant_dir = out / sweep.name / resolved.variant.slug
    if completed_run(variant_dir, resolved.sha256) is not None:
        return "complete"
    runs = attempts(variant_dir)
    if not runs:
        return "new"
    last = read_manifest(runs[-1]) or {}
    if last.get("status") == "ok":
        return "changed"
    return str(last.get("status", "incomplete"))


def _row(out: Path, sweep: Sweep, resolved: ResolvedVariant) -> dict[str, Any]:
    scenario = resolved.scenario
    return {
        "name": resolved.name,
        "folder": resolved.variant.slug,
        "params": resolved.variant.params,
        "seed": resolved.variant.seed,
        "map": scenario.map,
        "ticks": scenario.run.ticks,
        "scenario_sha256": resolved.sha256,
        "status": variant_status(out, sweep, resolved),
    }


def sweep_listing_json(sweep: Sweep, out: Path) -> dict[str, Any]:
    grid = sweep.file.grid
    return {
        "sweep": sweep.name,
        "file": str(sweep.file.path),
        "master_seed": sweep.master_seed,
        "parameters": list(grid.names()),
        "grid_points": grid.size(),
        "variants": [_row(out, sweep, v) for v in sweep.variants],
    }


def sweep_listing(sweep: Sweep, out: Path) -> list[str]:
    """Readable lines: a header, then one line per variant."""
    data = sweep_listing_json(sweep, out)
    grid = sweep.file.grid
    sizes = " × ".join(str(len(a.points)) for a in grid.axes) or "1"
    names = (
        " × ".join(
            "(" + ",".join(a.names) + ")" if len(a.names) > 1 else a.names[0] for a in grid.axes
        )
        or "no parameters"
    )
    excluded = grid.size() - len(sweep.variants) if grid.axes else 0
    head = [
        f"sweep {sweep.name} ({sweep.file.path}): {len(sweep.variants)} variants,"
        f" master seed {sweep.master_seed}",
        f"  grid: {names} = {sizes} = {math.prod(len(a.points) for a in grid.axes)} points"
        + (f", {excluded} excluded" if excluded else ""),
    ]
    rows = [("variant", "seed", "map", "ticks", "status")]
    rows += [
        (r["name"], str(r["seed"]), r["map"], str(r["ticks"]), r["status"])
        for r in data["variants"]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    body = [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return head + body
