"""Shared fixtures: an embedded server (a child process) and real carla clients.

CARLA town maps are data from elsewhere and never committed. Tests find them in
`CARLA_TEST_MAPS`, else ../shared/maps beside the repository. Without them the tests
that need a CARLA town are skipped with that reason, except under CI (`CI=true`),
where the towns are always provided and their absence stops the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.sim.process import EmbeddedServer

SHARED_MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"


def shared_maps_dir() -> Path:
    """Where the CARLA town .xodr files are for tests (override: CARLA_TEST_MAPS)."""
    return Path(os.environ.get("CARLA_TEST_MAPS", SHARED_MAPS))


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI") and not (shared_maps_dir() / "Town03.xodr").is_file():
        pytest.exit(f"CI without CARLA town files in {shared_maps_dir()}", returncode=2)


def require_town(name: str) -> Path:
    path = shared_maps_dir() / f"{name}.xodr"
    if not path.is_file():
        pytest.skip(f"{path} not available (set CARLA_TEST_MAPS to a folder of CARLA .xodr)")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A server whose recordings folder is the session's temp root (tests record there)."""
    recordings = tmp_path_factory.getbasetemp()
    with EmbeddedServer(maps_dirs=[shared_maps_dir()], recordings_dir=recordings) as srv:
        yield srv


@pytest.fixture()
def client(server: EmbeddedServer) -> Iterator[object]:
    import carla

    c = carla.Client(server.host, server.port)
    c.set_timeout(20.0)
    yield c
    world = c.get_world()
    settings = world.get_settings()
    if settings.synchronous_mode:
        settings.synchronous_mode = False
        settings.fixed_delta_seconds = None
        world.apply_settings(settings)
