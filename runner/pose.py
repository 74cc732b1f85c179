"""The one pose type of the runner: a scenario's `transform:` and a plan's poses.

A pydantic dataclass, so the scenario models validate it (unknown keys refused, numbers
checked) while the compiled plan carries the very same frozen value.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, config=ConfigDict(extra="forbid"))
class Pose:
    """Location [m] and rotation [deg] relative to the parent (or the world), CARLA's axes."""

    x: float = Field(default=0.0, description="forward [m]")
    y: float = Field(default=0.0, description="right [m]")
    z: float = Field(default=0.0, description="up [m]")
    pitch: float = Field(default=0.0, description="nose up [deg]")
    yaw: float = Field(default=0.0, description="turn right [deg]")
    roll: float = Field(default=0.0, description="right side down [deg]")
