"""Where a recorder file name points: CARLA's rule, with our own "Saved" folder.

A name containing `\\`, `/` or `:` is used as given; any other name goes into the
recordings folder (CARLA uses `CarlaUE4/Saved/`). The server and the offline reader
share this rule, so a bare name means the same file to both on one machine.

The server, unlike CARLA, also confines what clients name (`confine`): a CARLA port is
otherwise a file-write primitive for anyone who can reach it. Relative names live in
the server's recordings root; an absolute name is accepted only inside that root; a
name that leaves the root (`..`, a symlink) is refused.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from runner.settings import Settings

ENV_DIR = "CARLA_SCENARIO_RECORDINGS"
APP_DIR = "carla-scenario-runner"


def recordings_dir() -> Path:
    """$CARLA_SCENARIO_RECORDINGS, else $XDG_DATA_HOME (or ~/.local/share)/…/recordings.

    For the offline API's bare names; the environment is read by `runner.settings`.
    """
    return Settings.from_env().recordings_dir


def is_bare_name(name: str) -> bool:
    return not any(c in name for c in "\\/:")


def resolve(name: str) -> str:
    """The path the server opens for `name` (returned as text, like CARLA's answer)."""
    if not is_bare_name(name):
        return name
    return f"{recordings_dir()}{os.sep}{name}"


class PathRefused(ValueError):
    """A client-supplied file name that points outside the recordings root."""


def confine(name: str, root: Path) -> str:
    """The path `name` means inside `root`, as text (CARLA answers with it); else refuse.

    Bare and relative names are joined to `root`; `..` is resolved, and so are symlinks
    for the check, which must land inside `root`. The text returned is the normalised
    path (a clean absolute name comes back exactly as the client sent it).
    """
    if not name or "\x00" in name or "\\" in name:
        raise PathRefused(f"file name {name!r} is not a valid recorder file name")
    joined = Path(name) if PurePosixPath(name).is_absolute() else root / name
    normal = Path(os.path.normpath(joined))
    real_root = Path(os.path.realpath(root))
    if not Path(os.path.realpath(normal)).is_relative_to(real_root):
        raise PathRefused(f"'{name}' is outside the recordings folder '{root}'")
    return str(normal)
