"""The world's own error: a request the world cannot honour.

World code raises `WorldError` with CARLA's wording; the handler layer
(`runner.sim.handlers.registry.dispatch` and the batch runner) turns it into the
RPC error answer, so world modules never import the protocol or the handlers.
"""

from __future__ import annotations


class WorldError(Exception):
    """A request the world refuses; `str(error)` is the text the client sees."""
