"""Map search path, naming, spawn points and geo-reference, with the real `carla.Map`."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import carla
import pytest

from runner.sim.world.geometry import Transform
from runner.sim.world.maps import (
    BUILTIN_ORIGIN,
    MapCatalog,
    MapNotFound,
    MapSource,
    asset_path,
    builtin_xodr,
    geo_reference,
    load_carla_map,
    map_info_name,
    short_name,
    spawn_points,
)
from tests.conftest import shared_maps_dir

MAPS_DIR = shared_maps_dir()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No map folders from the machine running the tests; a private user cache."""
    monkeypatch.delenv("CARLA_MAPS_PATH", raising=False)
    monkeypatch.delenv("CARLA_ROOT", raising=False)
    cache_home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    return cache_home / "carla-scenario-runner" / "maps"


def _town_maps() -> Path:
    if not MAPS_DIR.is_dir():
        pytest.skip(f"CARLA town files not found in {MAPS_DIR}")
    return MAPS_DIR


def _write(folder: Path, name: str, text: str = "<OpenDRIVE/>") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.xodr"
    path.write_text(text)
    return path


# --- names ---------------------------------------------------------------------------


def test_name_forms() -> None:
    assert short_name("/Game/Carla/Maps/Town03") == "Town03"
    assert short_name("Carla/Maps/Town03") == "Town03"
    assert short_name("Town03") == "Town03"
    assert asset_path("Town03") == "/Game/Carla/Maps/Town03"
    assert asset_path("Carla/Maps/GridTown") == "/Game/Carla/Maps/GridTown"
    assert map_info_name("/Game/Carla/Maps/Town03_Opt") == "Carla/Maps/Town03_Opt"


# --- search path ---------------------------------------------------------------------


def test_search_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: Path) -> None:
    env_a, env_b, root = tmp_path / "a", tmp_path / "b", tmp_path / "carla"
    monkeypatch.setenv("CARLA_MAPS_PATH", f"{env_a}{os.pathsep}{env_b}")
    monkeypatch.setenv("CARLA_ROOT", str(root))
    opendrive = root / "CarlaUE4" / "Content" / "Carla" / "Maps" / "OpenDrive"
    flag = tmp_path / "flag"
    assert MapCatalog([flag]).search_dirs == (flag, env_a, env_b, opendrive, clean_env)
    for folder in (clean_env, opendrive, env_b, env_a, flag):
        _write(folder, "Town09", text=str(folder))
    catalog = MapCatalog([flag])
    assert catalog.resolve("Town09").xodr == str(flag)
    assert MapCatalog().resolve("Town09").xodr == str(env_a)
    (env_a / "Town09.xodr").unlink()
    assert MapCatalog().resolve("Town09").origin == str(env_b / "Town09.xodr")


def test_names_lists_builtins_and_files(tmp_path: Path, clean_env: Path) -> None:
    _write(tmp_path / "one", "Town02")
    _write(tmp_path / "two", "Town02")
    _write(tmp_path / "two", "Alpha")
    (tmp_path / "two" / "notes.txt").write_text("not a map")
    _write(clean_env, "Cached")
    names = MapCatalog([tmp_path / "one", tmp_path / "two", tmp_path / "missing"]).names()
    assert names == ["Alpha", "Cached", "CrossTown", "GridTown", "Town02"]


def test_resolve_builtin_needs_no_files() -> None:
    source = MapCatalog().resolve("GridTown")
    assert source == MapSource("GridTown", builtin_xodr("GridTown"), BUILTIN_ORIGIN)
    assert MapCatalog().resolve("/Game/Carla/Maps/CrossTown").name == "CrossTown"
    assert MapCatalog().resolve("gridtown").name == "GridTown"


def test_resolve_name_forms(tmp_path: Path) -> None:
    path = _write(tmp_path, "Town03", "<OpenDRIVE>3</OpenDRIVE>")
    catalog = MapCatalog([tmp_path])
    for name in ("Town03", "/Game/Carla/Maps/Town03", "Carla/Maps/Town03", "town03"):
        assert catalog.resolve(name) == MapSource("Town03", path.read_text(), str(path))
    opt = catalog.resolve("Town03_Opt")
    assert (opt.name, opt.origin) == ("Town03_Opt", str(path))
    assert catalog.resolve("/Game/Carla/Maps/Town03_Opt").name == "Town03_Opt"
    by_path = MapCatalog().resolve(str(path))
    assert (by_path.name, by_path.origin) == ("Town03", str(path))


def test_not_found_speaks_carla(tmp_path: Path, clean_env: Path) -> None:
    with pytest.raises(MapNotFound) as info:
        MapCatalog([tmp_path]).resolve("Town42")
    err = info.value
    assert isinstance(err, KeyError)
    assert err.carla_text == "Map 'Town42' not found"
    assert str(err).startswith("Map 'Town42' not found")
    assert str(tmp_path) in str(err) and str(clean_env) in str(err)
    with pytest.raises(MapNotFound):
        MapCatalog().resolve(str(tmp_path / "absent.xodr"))


def test_import_does_not_load_carla() -> None:
    code = "import sys, runner.sim.world.maps; print('carla' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# --- carla.Map cache -----------------------------------------------------------------


def test_load_carla_map_is_cached() -> None:
    source = MapCatalog().resolve("CrossTown")
    first = load_carla_map(source)
    assert load_carla_map(MapSource("CrossTown", source.xodr, "elsewhere")) is first
    assert first.name == "CrossTown"
    assert load_carla_map(MapSource("Other", source.xodr, BUILTIN_ORIGIN)) is not first


# --- spawn points --------------------------------------------------------------------


def _check_spawn_points(m: carla.Map, points: list[Transform]) -> None:
    for p in points:
        loc = carla.Location(p.x, p.y, p.z)
        on = m.get_waypoint(loc, project_to_road=False, lane_type=carla.LaneType.Any)
        assert on is not None and on.lane_type == carla.LaneType.Driving
        assert not on.is_junction
        assert p.z == pytest.approx(on.transform.location.z + 0.5, abs=0.05)
        diff = (p.yaw - on.transform.rotation.yaw + 180) % 360 - 180
        assert abs(diff) < 1.0
        assert (p.pitch, p.roll) == (0.0, 0.0)
    for i, a in enumerate(points):
        assert all(math.dist(a.location, b.location) >= 5.0 for b in points[i + 1 :])


@pytest.mark.parametrize("name, count", [("GridTown", 288), ("CrossTown", 48)])
def test_spawn_points_builtin(name: str, count: int) -> None:
    m = load_carla_map(MapCatalog().resolve(name))
    points = spawn_points(m)
    assert len(points) == count
    assert spawn_points(m) == points
    _check_spawn_points(m, points)
    lanes = {m.get_waypoint(carla.Location(p.x, p.y, p.z)).lane_id for p in points}
    assert lanes == {-2, -1, 1, 2}  # both directions, all lanes


def test_spawn_points_town03() -> None:
    catalog = MapCatalog([_town_maps()])
    m = load_carla_map(catalog.resolve("Town03"))
    points = spawn_points(m)
    assert 200 <= len(points) <= 450  # CARLA's hand-placed Town03 has 265
    assert spawn_points(carla.Map("Town03", catalog.resolve("Town03").xodr)) == points
    _check_spawn_points(m, points)


def test_spawn_points_same_in_another_process() -> None:
    code = (
        "from runner.sim.world.maps import *\n"
        "m = load_carla_map(MapCatalog().resolve('GridTown'))\n"
        "print(repr(spawn_points(m)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    here = spawn_points(load_carla_map(MapCatalog().resolve("GridTown")))
    assert out.stdout.strip() == repr(here)


# --- geo reference -------------------------------------------------------------------


def _carla_origin(name: str, xodr: str) -> tuple[float, float, float]:
    g = carla.Map(name, xodr).transform_to_geolocation(carla.Location(0, 0, 0))
    return (g.latitude, g.longitude, g.altitude)


def test_geo_reference_town01() -> None:
    """The 2020 re-exports of CARLA's towns carry +lat_0=0 +lon_0=0."""
    xodr = (_town_maps() / "Town01.xodr").read_text()
    assert geo_reference(xodr) == (0.0, 0.0, 0.0)
    assert geo_reference(xodr) == pytest.approx(_carla_origin("Town01", xodr))


def test_geo_reference_builtin_and_forms() -> None:
    xodr = builtin_xodr("CrossTown")
    assert geo_reference(xodr) == (49.0, 8.0, 0.0)
    assert geo_reference(xodr) == pytest.approx(_carla_origin("CrossTown", xodr))
    cdata = "<geoReference><![CDATA[+proj=tmerc +lat_0=4.9e+1 +lon_0=-8.5 ]]></geoReference>"
    assert geo_reference(cdata) == (49.0, -8.5, 0.0)


def test_geo_reference_missing_uses_carla_default() -> None:
    """CARLA falls back to (42, 2) when the proj string lacks +lat_0 / +lon_0."""
    xodr = builtin_xodr("CrossTown")
    start, end = xodr.index("<geoReference>"), xodr.index("</geoReference>") + 15
    bare = xodr[:start] + xodr[end:]
    assert geo_reference(bare) == (42.0, 2.0, 0.0)
    assert geo_reference(bare) == pytest.approx(_carla_origin("CrossTown", bare))
    assert geo_reference("<geoReference>+proj=tmerc +lat_0=1</geoReference>") == (42.0, 2.0, 0.0)
