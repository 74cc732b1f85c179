"""Every environment variable the project reads, read once at the edge.

The CLI (and the simulator's own entry point) builds one `Settings` with
`Settings.from_env()` and passes it down; nothing below the edge calls `os.environ`.

    CARLA_MAPS_PATH            extra folders of .xodr towns (os.pathsep-separated)
    CARLA_ROOT                 a CARLA install: its Maps/OpenDrive folder is searched
    XDG_CACHE_HOME             user cache (maps in carla-scenario-runner/maps)
    XDG_DATA_HOME              user data (recordings in carla-scenario-runner/recordings)
    CARLA_SCENARIO_RECORDINGS  the recordings folder for bare recorder file names
    CARLA_HOST, CARLA_PORT     default server for `scenario run` (else embedded)
    RUNNER_SIM_LOG             embedded server log level (INFO; debug logs every RPC)
    RUNNER_SIM_PROFILE         1: the server logs where each step's time goes (cpu: in CPU time)
    CARLA_SIM_GL_BACKEND       moderngl backend for the renderer (egl)
    RUNNER_FAULT_AT_TICK       test hook: the run fails right after captured tick N
    RUNNER_FAULT_BLOCK_TICK    test hook: the N-th tick never returns (the watchdog fires)
    RUNNER_TICK_DEADLINE_S     the watchdog's deadline for one tick (default: timeout + 5 s)
    RUNNER_SIM_PARENT_PID      set by EmbeddedServer: the server exits when that process dies
    RUNNER_SIM_CLIENT_TM       1: the embedded server serves no Traffic Manager (benches use it)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_DIR = "carla-scenario-runner"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The environment as plain typed values."""

    maps_path: tuple[Path, ...] = ()
    carla_root: Path | None = None
    cache_home: Path = Path.home() / ".cache"
    recordings_dir: Path = Path.home() / ".local" / "share" / APP_DIR / "recordings"
    carla_host: str | None = None
    carla_port: int | None = None
    sim_log_level: str = "INFO"
    sim_profile: str = ""  # "" off, "cpu" thread CPU time, anything else wall time
    gl_backend: str = "egl"
    fault_at_tick: int | None = None
    fault_block_tick: int | None = None
    tick_deadline_s: float | None = None
    sim_parent_pid: int | None = None
    sim_client_tm: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every variable the project knows (see the module docstring)."""
        env = os.environ if environ is None else environ
        home = Path.home()
        data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
        recordings = env.get("CARLA_SCENARIO_RECORDINGS")
        return cls(
            maps_path=tuple(Path(p) for p in env.get("CARLA_MAPS_PATH", "").split(os.pathsep) if p),
            carla_root=Path(env["CARLA_ROOT"]) if env.get("CARLA_ROOT") else None,
            cache_home=Path(env.get("XDG_CACHE_HOME") or home / ".cache"),
            recordings_dir=(
                Path(recordings).expanduser().absolute()
                if recordings
                else (data_home / APP_DIR / "recordings").expanduser().absolute()
            ),
            carla_host=env.get("CARLA_HOST") or None,
            carla_port=_int_or_none(env.get("CARLA_PORT")),
            sim_log_level=env.get("RUNNER_SIM_LOG", "INFO").upper(),
            sim_profile=_profile_mode(env.get("RUNNER_SIM_PROFILE", "")),
            gl_backend=env.get("CARLA_SIM_GL_BACKEND", "egl"),
            fault_at_tick=_int_or_none(env.get("RUNNER_FAULT_AT_TICK")),
            fault_block_tick=_int_or_none(env.get("RUNNER_FAULT_BLOCK_TICK")),
            tick_deadline_s=_float_or_none(env.get("RUNNER_TICK_DEADLINE_S")),
            sim_parent_pid=_int_or_none(env.get("RUNNER_SIM_PARENT_PID")),
            sim_client_tm=env.get("RUNNER_SIM_CLIENT_TM", "") not in ("", "0"),
        )


def _int_or_none(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _float_or_none(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _profile_mode(value: str) -> str:
    return "" if value in ("", "0") else value
