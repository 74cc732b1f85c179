"""Where maps come from: built-in towns and OpenDRIVE files on a search path.

CARLA loads towns from Unreal packages; here a town is its OpenDRIVE text, which the
real `carla.Map(name, xodr)` turns into waypoints, topology and landmarks. Search
order: `--maps-dir` folders, `$CARLA_MAPS_PATH`, CARLA's own `Maps/OpenDrive` folder
under `$CARLA_ROOT`, then the user cache. `carla` is imported only inside functions so
that importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from runner.catalog import DEFAULT_MAP
from runner.mapsearch import search_dirs, xodr_files
from runner.settings import Settings
from runner.sim.world.map_spawn import spawn_points
from runner.sim.world.town_generator import BUILTIN_TOWNS, generate_town

if TYPE_CHECKING:
    import carla

__all__ = [
    "BUILTIN_ORIGIN",
    "DEFAULT_MAP",
    "MapCatalog",
    "MapNotFound",
    "MapSource",
    "asset_path",
    "builtin_xodr",
    "default_search_dirs",
    "geo_reference",
    "load_carla_map",
    "map_info_name",
    "short_name",
    "spawn_points",
]

BUILTIN_ORIGIN = "builtin"

_ASSET_PREFIX = "/Game/Carla/Maps/"
_INFO_PREFIX = "Carla/Maps/"
_OPT_SUFFIX = "_Opt"  # CARLA's layered maps share the road network of the plain town


@dataclass(frozen=True)
class MapSource:
    """A resolved map: its short name, OpenDRIVE text and where that text came from."""

    name: str
    xodr: str
    origin: str


class MapNotFound(KeyError):
    """No built-in map or .xodr file of that name; `carla_text` is CARLA's own error."""

    def __init__(self, name: str, searched: Sequence[Path]) -> None:
        super().__init__(name)
        self.name = name
        self.searched = tuple(searched)
        self.carla_text = f"Map '{name}' not found"

    def __str__(self) -> str:
        folders = ", ".join(str(p) for p in self.searched) or "no folders"
        return f"{self.carla_text} (searched built-in maps and {folders})"


def short_name(name: str) -> str:
    """ "/Game/Carla/Maps/Town03" or "Carla/Maps/Town03" -> "Town03"."""
    name = name.strip()
    for prefix in (_ASSET_PREFIX, _INFO_PREFIX):
        if name.startswith(prefix):
            return name[len(prefix) :].rsplit("/", 1)[-1]
    return name


def asset_path(name: str) -> str:
    """CARLA's package path, as `client.get_available_maps()` lists it."""
    return _ASSET_PREFIX + short_name(name)


def map_info_name(name: str) -> str:
    """The name `world.get_map().name` shows."""
    return _INFO_PREFIX + short_name(name)


def default_search_dirs(
    extra_dirs: Sequence[str | Path] = (), settings: Settings | None = None
) -> list[Path]:
    """The map search path (runner.mapsearch), from `settings` or the environment."""
    return search_dirs(settings or Settings.from_env(), extra_dirs)


class MapCatalog:
    """Lists and resolves map names over built-in towns and the search path."""

    def __init__(
        self, extra_dirs: Sequence[str | Path] = (), settings: Settings | None = None
    ) -> None:
        self.search_dirs: tuple[Path, ...] = tuple(default_search_dirs(extra_dirs, settings))
        self._generated: dict[str, str] = {}

    def add_generated(self, name: str, xodr: str) -> None:
        """An OpenDRIVE text a client sent (generate_opendrive_world), loadable by name."""
        self._generated[name] = xodr

    def names(self) -> list[str]:
        """Built-in maps and the stem of every .xodr file found; sorted, no duplicates."""
        found = set(BUILTIN_TOWNS)
        for folder in self.search_dirs:
            found.update(path.stem for path in xodr_files(folder))
        return sorted(found)

    def resolve(self, name: str) -> MapSource:
        """The map for a short name, a CARLA path, an `_Opt` name or an .xodr path."""
        if name.strip().lower().endswith(".xodr"):
            return self._from_path(name)
        short = short_name(name)
        if short in self._generated:
            return MapSource(short, self._generated[short], "client")
        candidates = [short]
        if short.endswith(_OPT_SUFFIX):
            candidates.append(short[: -len(_OPT_SUFFIX)])
        for candidate in candidates:
            source = self._lookup(candidate)
            if source is not None:
                suffix = "" if candidate == short else _OPT_SUFFIX
                return MapSource(source.name + suffix, source.xodr, source.origin)
        raise MapNotFound(name, self.search_dirs)

    def _from_path(self, name: str) -> MapSource:
        path = Path(name.strip()).expanduser()
        if not path.is_file():
            raise MapNotFound(name, [path.parent])
        return MapSource(path.stem, _read_xodr(path), str(path))

    def _lookup(self, short: str) -> MapSource | None:
        """Exact name first (built-ins, then folders in order), then ignoring case."""
        for exact in (True, False):
            builtin = _match(short, BUILTIN_TOWNS, exact)
            if builtin is not None:
                return MapSource(builtin, builtin_xodr(builtin), BUILTIN_ORIGIN)
            for folder in self.search_dirs:
                files = {p.stem: p for p in xodr_files(folder)}
                stem = _match(short, files, exact)
                if stem is not None:
                    return MapSource(stem, _read_xodr(files[stem]), str(files[stem]))
        return None


def _match(name: str, options: Collection[str], exact: bool) -> str | None:
    if exact:
        return name if name in options else None
    lowered = name.lower()
    return next((o for o in sorted(options) if o.lower() == lowered), None)


def _read_xodr(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


@cache
def builtin_xodr(name: str) -> str:
    """OpenDRIVE text of a built-in town, generated once per process."""
    return generate_town(BUILTIN_TOWNS[name])


_MAP_CACHE_SIZE = 8
_map_cache: OrderedDict[tuple[str, str], carla.Map] = OrderedDict()
_map_cache_lock = threading.Lock()


def load_carla_map(source: MapSource) -> carla.Map:
    """CARLA's road logic for `source`, parsed once per (name, OpenDRIVE text)."""
    import carla

    key = (source.name, hashlib.sha256(source.xodr.encode("utf-8")).hexdigest())
    with _map_cache_lock:
        if key in _map_cache:
            _map_cache.move_to_end(key)
            return _map_cache[key]
    parsed = carla.Map(source.name, source.xodr)
    with _map_cache_lock:
        _map_cache[key] = parsed
        while len(_map_cache) > _MAP_CACHE_SIZE:
            _map_cache.popitem(last=False)
    return parsed


_GEO_REFERENCE = re.compile(r"<geoReference>(.*?)</geoReference>", re.DOTALL)
_CARLA_DEFAULT_GEO = (42.0, 2.0, 0.0)


def geo_reference(xodr: str) -> tuple[float, float, float]:
    """(lat0, lon0, alt0) of the map origin, read the way CARLA reads it.

    CARLA takes `+lat_0=` and `+lon_0=` from the header's proj string and falls back
    to (42, 2) when either is missing or unreadable; altitude is always 0.
    """
    match = _GEO_REFERENCE.search(xodr)
    text = match.group(1) if match else ""
    text = text.replace("<![CDATA[", " ").replace("]]>", " ")
    values: dict[str, float] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep and key in ("+lat_0", "+lon_0"):
            try:
                values[key] = float(value)
            except ValueError:
                continue
    if len(values) < 2 or any(math.isnan(v) for v in values.values()):
        return _CARLA_DEFAULT_GEO
    return (values["+lat_0"], values["+lon_0"], 0.0)
