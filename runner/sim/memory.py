"""Keep a long-lived server's memory flat: few malloc arenas, trimmed between episodes.

glibc gives each thread that allocates concurrently its own arena (up to 8 per core)
and rarely returns their free space; the server's many threads (RPC connections,
stream writers, the GL thread) then grow its RSS with every map change. Measured
(`bench/soak.py`-like loop: GridTown/CrossTown alternating, three cameras): +3-5 MB per
switch without a limit, flat after the second switch with two arenas.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

from runner.sim.step import StepObserver
from runner.sim.world.episode import Episode
from runner.sim.world.loaded_map import LoadedMap

log = logging.getLogger("runner.sim")
M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (a no-op elsewhere); True when the cap is in place."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        log.debug("mallopt unavailable: malloc arenas left as they are")
        return False


class EpisodeTrim(StepObserver):
    """Hands freed heap pages back to the OS at each episode change (glibc `malloc_trim`).

    An episode change frees the old episode's actors, sensor runtimes and buffers (a map
    change also its lane tables; its scene stays cached for a return, at most four maps,
    and its GL buffers go at the next camera frame); without a trim the server keeps the
    high-water mark of the largest episodes it has seen. A few milliseconds per load.
    """

    def __init__(self) -> None:
        name = ctypes.util.find_library("c")
        try:
            self._trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
        except OSError:
            self._trim = None

    def episode_changed(self, episode: Episode, loaded_map: LoadedMap) -> None:
        if self._trim is not None:
            gc.collect()
            self._trim(0)
