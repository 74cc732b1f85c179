"""The map search path, shared by the runner (validation) and the simulator (loading).

A CARLA town is its OpenDRIVE file here. Search order: `--maps-dir` folders, then
`$CARLA_MAPS_PATH`, then CARLA's own `Maps/OpenDrive` folder under `$CARLA_ROOT`,
then the user cache. `scenario validate --maps-dir D` and `scenario run --maps-dir D`
see the same maps because both ask this module. Pure: the environment comes in as
`runner.settings.Settings`, never read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from runner.catalog import BUILTIN_MAPS, CARLA_TOWNS
from runner.settings import Settings

CACHE_SUBDIR = ("carla-scenario-runner", "maps")


def search_dirs(settings: Settings, extra_dirs: Sequence[str | Path] = ()) -> list[Path]:
    """The folders searched for `<name>.xodr`, in order."""
    dirs = [Path(d) for d in extra_dirs]
    dirs += list(settings.maps_path)
    if settings.carla_root is not None:
        dirs.append(settings.carla_root / "CarlaUE4" / "Content" / "Carla" / "Maps" / "OpenDrive")
    dirs.append(settings.cache_home.joinpath(*CACHE_SUBDIR))
    return dirs


def xodr_files(folder: Path) -> list[Path]:
    """The .xodr files directly in `folder` (none when it is missing or unreadable)."""
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xodr" and p.is_file())
    except OSError:
        return []


def maps_on_path(dirs: Iterable[Path]) -> set[str]:
    """Stems of every .xodr file in `dirs`."""
    return {path.stem for folder in dirs for path in xodr_files(folder)}


def known_map_names(dirs: Iterable[Path]) -> list[str]:
    """Names a scenario's `map:` may use: CARLA's towns, built-ins, files on the path."""
    return sorted({*CARLA_TOWNS, *BUILTIN_MAPS, *maps_on_path(dirs)})
