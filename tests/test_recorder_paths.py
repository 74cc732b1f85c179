"""Client file names are confined to the server's recordings folder (issue 9).

A CARLA port would otherwise let anyone who reaches it write and read files anywhere
the server's user can: `start_recorder("/home/u/.bashrc")`. Pure rules first, then the
real client against a server started with `recordings_dir`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import carla
import pytest

from runner.recorder.paths import PathRefused, confine
from runner.sim.process import EmbeddedServer
from runner.sim.server import _warn_if_exposed, is_loopback

OUTSIDE = "outside the recordings folder"


# -- pure rules -----------------------------------------------------------------------
def test_relative_names_land_in_the_root(tmp_path: Path) -> None:
    assert confine("run.log", tmp_path) == str(tmp_path / "run.log")
    assert confine("day1/run.log", tmp_path) == str(tmp_path / "day1" / "run.log")
    assert confine("day1/../run.log", tmp_path) == str(tmp_path / "run.log")


def test_absolute_names_inside_the_root_are_kept_as_sent(tmp_path: Path) -> None:
    inside = str(tmp_path / "runs" / "a.log")
    assert confine(inside, tmp_path) == inside


@pytest.mark.parametrize(
    "name", ["../escape.log", "a/../../escape.log", "/etc/passwd", "/tmp/../etc/x", "//etc/x"]
)
def test_names_leaving_the_root_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(PathRefused, match=OUTSIDE):
        confine(name, tmp_path / "root")


@pytest.mark.parametrize("name", ["", "a\x00b.log", "c:\\records\\a.log"])
def test_invalid_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(PathRefused, match="not a valid recorder file name"):
        confine(name, tmp_path)


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "link").symlink_to(elsewhere)
    with pytest.raises(PathRefused, match=OUTSIDE):
        confine("link/run.log", root)


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("")


def test_a_server_bound_beyond_loopback_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="runner.sim"):
        _warn_if_exposed("127.0.0.1", tmp_path)
        assert not caplog.records
        _warn_if_exposed("0.0.0.0", tmp_path)
    (record,) = caplog.records
    assert "reachable from other machines" in record.getMessage()
    assert str(tmp_path) in record.getMessage()


# -- through the real client --------------------------------------------------------------
@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="module")
def confined(root: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(recordings_dir=root) as server:
        yield server


@pytest.fixture()
def rpc(confined: EmbeddedServer) -> carla.Client:
    client = carla.Client(confined.host, confined.port)
    client.set_timeout(10.0)
    return client


def test_recording_inside_the_root_works(rpc: carla.Client, root: Path) -> None:
    assert rpc.start_recorder("bare.log") == str(root / "bare.log")
    rpc.stop_recorder()
    assert (root / "bare.log").stat().st_size > 0
    absolute = str(root / "absolute.log")
    assert rpc.start_recorder(absolute) == absolute
    rpc.stop_recorder()
    assert rpc.show_recorder_file_info(absolute, False).startswith("Version: 2\n")
    assert rpc.show_recorder_file_info("bare.log", False).startswith("Version: 2\n")


@pytest.mark.parametrize("name", ["/tmp/escape.log", "../escape.log", "sub/../../escape.log"])
def test_start_recorder_outside_the_root_is_refused(
    rpc: carla.Client, root: Path, name: str
) -> None:
    with pytest.raises(RuntimeError, match=f"start_recorder: '.*' is {OUTSIDE}"):
        rpc.start_recorder(name)
    assert not (root.parent / "escape.log").exists()
    assert not Path("/tmp/escape.log").exists()


def test_queries_and_replay_outside_the_root_are_refused(rpc: carla.Client) -> None:
    with pytest.raises(RuntimeError, match=f"show_recorder_file_info: .*{OUTSIDE}"):
        rpc.show_recorder_file_info("/etc/passwd", True)
    with pytest.raises(RuntimeError, match=f"show_recorder_collisions: .*{OUTSIDE}"):
        rpc.show_recorder_collisions("../../etc/passwd", "a", "a")
    with pytest.raises(RuntimeError, match=f"show_recorder_actors_blocked: .*{OUTSIDE}"):
        rpc.show_recorder_actors_blocked("/etc/shadow", 1.0, 10.0)
    with pytest.raises(RuntimeError, match=f"replay_file: .*{OUTSIDE}"):
        rpc.replay_file("/etc/passwd", 0.0, 0.0, 0)
    with pytest.raises(RuntimeError, match="not supported"):
        rpc.replay_file("inside.log", 0.0, 0.0, 0)  # inside: the usual answer


def test_without_a_root_the_user_recordings_folder_confines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = tmp_path / "default-recordings"
    monkeypatch.setenv("CARLA_SCENARIO_RECORDINGS", str(default))
    with EmbeddedServer() as server:
        assert server.pid and "reachable from other machines" not in server.log_tail()
        client = carla.Client(server.host, server.port)
        client.set_timeout(10.0)
        assert client.start_recorder("plain.log") == str(default / "plain.log")
        client.stop_recorder()
        with pytest.raises(RuntimeError, match=OUTSIDE):
            client.start_recorder(str(tmp_path / "beside.log"))
    assert (default / "plain.log").is_file()
    assert not (tmp_path / "beside.log").exists()
    assert os.listdir(default) == ["plain.log"]
