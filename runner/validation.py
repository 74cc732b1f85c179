"""The shared vocabulary of scenario validation: a strict model base and located issues.

Checks that need the pinned CARLA 0.9.16 catalog or relate two parts of a file raise
one `ISSUES_ERROR` whose context lists (sub-path, message, hint, at_key) tuples, so
`runner.load` can point each one at the exact key or value. Used by `runner.spec` and
by the export targets' models; nothing here contacts a simulator.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from runner.suggest import Finding, attribute_findings

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str, "str | None", bool]
"""(sub-path below the validated object, message, did-you-mean hint, point at the key)."""
AttributeValue = bool | int | float | str

ISSUES_ERROR = "scenario_issues"


def raise_issues(issues: Sequence[Issue]) -> None:
    """Raise one pydantic error carrying every located issue (no-op when empty)."""
    if issues:
        summary = "; ".join(message for _, message, _, _ in issues)
        raise PydanticCustomError(
            ISSUES_ERROR, "{summary}", {"summary": summary, "issues": tuple(issues)}
        )


class StrictModel(BaseModel):
    """Unknown keys are errors and values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def finding_issues(finding: Finding | None, subloc: Loc = ()) -> list[Issue]:
    """A catalog finding (or None) as a list of issues at `subloc`."""
    return [] if finding is None else [(subloc, finding[0], finding[1], False)]


def attribute_issues(blueprint_id: str, attributes: dict[str, AttributeValue]) -> list[Issue]:
    """Blueprint attributes the catalog would refuse, each at its key or value."""
    found = attribute_findings(blueprint_id, dict(attributes))
    return [(("attributes", name), msg, hint, at_key) for name, at_key, (msg, hint) in found]
