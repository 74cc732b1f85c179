"""Plans as JSON-ready data and as readable text, for `scenario plan [--json]`."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel

from runner.plan import Plan


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """JSON-ready data: each step is {"step": class name, **fields}, pairs become objects."""
    return {
        "name": plan.name,
        "source": plan.source,
        "seeds": dataclasses.asdict(plan.seeds),
        "steps": [{"step": type(step).__name__, **_fields(step)} for step in plan.steps],
    }


def _fields(obj: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata.get("mapping"):
            out[f.name] = {key: _jsonable(item) for key, item in value}
        else:
            out[f.name] = _jsonable(value)
    return out


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple record
        return {k: _jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    return value


def format_plan(plan: Plan) -> list[str]:
    """One header line, then one numbered line per step with its fields."""
    seeds = plan.seeds
    header = (
        f"plan {plan.name}"
        + (f" ({plan.source})" if plan.source else "")
        + f": seed {seeds.master} -> python {seeds.python}, numpy {seeds.numpy},"
        + f" traffic manager {seeds.traffic_manager}"
    )
    lines = [header]
    for number, step in enumerate(plan.steps, start=1):
        detail = ", ".join(f"{k}={_text(v)}" for k, v in _fields(step).items())
        lines.append(f"{number:>3}. {type(step).__name__:<24} {detail}")
    return lines


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)
