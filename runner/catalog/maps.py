"""The CARLA 0.9.16 town names (base package plus AdditionalMaps)."""

from __future__ import annotations

CARLA_TOWNS: tuple[str, ...] = (
    "Town01",
    "Town01_Opt",
    "Town02",
    "Town02_Opt",
    "Town03",
    "Town03_Opt",
    "Town04",
    "Town04_Opt",
    "Town05",
    "Town05_Opt",
    "Town10HD",
    "Town10HD_Opt",
    "Town06",
    "Town06_Opt",
    "Town07",
    "Town07_Opt",
    "Town11",
    "Town12",
    "Town13",
    "Town15",
)

DEFAULT_TOWN = "Town10HD_Opt"  # what a fresh CARLA 0.9.12+ server loads

BUILTIN_MAPS: tuple[str, ...] = ("CrossTown", "GridTown")
"""Maps the embedded simulator generates itself (no data file needed)."""
DEFAULT_MAP = "GridTown"
"""The built-in map an embedded world starts with when nothing names one."""
