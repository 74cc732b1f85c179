"""Keep a long-lived server's memory flat: few malloc arenas.

glibc gives each thread that allocates concurrently its own arena (up to 8 per core)
and rarely returns their free space; the server's many threads (RPC connections,
stream writers, the GL thread) then grow its RSS with every map change. Measured
(`bench/soak.py`-like loop: GridTown/CrossTown alternating, three cameras): +3-5 MB per
switch without a limit, flat after the second switch with two arenas.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

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
