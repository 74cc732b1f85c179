"""Where a recorder file name points: CARLA's rule, with our own "Saved" folder.

A name containing `\\`, `/` or `:` is used as given; any other name goes into the
recordings folder (CARLA uses `CarlaUE4/Saved/`). The server and the offline reader
share this rule, so a bare name means the same file to both on one machine.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DIR = "CARLA_SCENARIO_RECORDINGS"
APP_DIR = "carla-scenario-runner"


def recordings_dir() -> Path:
    """$CARLA_SCENARIO_RECORDINGS, else $XDG_DATA_HOME (or ~/.local/share)/…/recordings."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override).expanduser().absolute()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser().absolute() / APP_DIR / "recordings"


def is_bare_name(name: str) -> bool:
    return not any(c in name for c in "\\/:")


def resolve(name: str) -> str:
    """The path the server opens for `name` (returned as text, like CARLA's answer)."""
    if not is_bare_name(name):
        return name
    return f"{recordings_dir()}{os.sep}{name}"
