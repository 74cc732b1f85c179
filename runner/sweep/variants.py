"""Variant identity: readable stable names, folder names, and seeds from parameters.

A variant is named by its sweep and its parameters in grid order,
`weather_x_maps/weather=HardRainNoon,map=Town03,seed=2`, so adding, removing or
reordering other points of the grid never renames it. Its seed is

    sha256(f"{master_seed}/{canonical JSON of the parameters, keys sorted}")[:4] & 0x7FFFFFFF

so it depends on the master seed and on what the variant *is*, never on where it
sits in the grid (the scheme of `runner.compile.derive_seed`, keyed by parameters).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from runner.sweep.grid import Params, canonical

DEFAULT_POINT = "default"
"""The name of the one variant of a sweep without parameters."""
MAX_SLUG_CHARS = 180
_SLUG_SAFE = "=,.-_+@:"


def format_value(value: Any) -> str:
    """A value as it appears in a variant name: strings bare, the rest as compact JSON."""
    return value if isinstance(value, str) else canonical(value)


def point_label(params: Params) -> str:
    """`weather=HardRainNoon,map=Town03,seed=2` (grid order), or "default"."""
    if not params:
        return DEFAULT_POINT
    return ",".join(f"{name}={format_value(value)}" for name, value in params.items())


def variant_seed(master_seed: int, params: Params) -> int:
    """The variant's 31-bit seed: from the master seed and its parameters only."""
    digest = hashlib.sha256(f"{master_seed}/{canonical(params)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF


def slug(label: str) -> str:
    """A folder name for a point label: unsafe characters %-escaped, long ones shortened."""
    safe = quote(label, safe=_SLUG_SAFE)
    if safe.startswith("."):
        safe = "%2E" + safe[1:]
    if len(safe) <= MAX_SLUG_CHARS:
        return safe
    digest = hashlib.sha256(label.encode()).hexdigest()[:12]
    return f"{safe[: MAX_SLUG_CHARS - 13]}~{digest}"


@dataclass(frozen=True)
class Variant:
    """One point of a sweep: its parameters (grid order) and derived seed."""

    sweep: str
    params_json: str
    seed: int

    @classmethod
    def create(cls, sweep: str, params: Params, master_seed: int) -> Variant:
        # Kept as JSON text so the dataclass stays hashable and picklable as-is.
        return cls(sweep, json.dumps(params, ensure_ascii=False), variant_seed(master_seed, params))

    @property
    def params(self) -> Params:
        loaded: Params = json.loads(self.params_json)
        return loaded

    @property
    def label(self) -> str:
        return point_label(self.params)

    @property
    def name(self) -> str:
        return f"{self.sweep}/{self.label}"

    @property
    def slug(self) -> str:
        return slug(self.label)
