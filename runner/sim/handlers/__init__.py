"""Every RPC the carla 0.9.16 client can send, each with a handler (or a clear error)."""

from __future__ import annotations

from runner.sim.handlers import (  # noqa: F401  (importing registers the handlers)
    actors,
    batch,
    recorder,
    sensors,
    session,
    traffic,
    vehicles,
    world,
)
from runner.sim.handlers.registry import REGISTRY, Services, dispatch


def rpc_method_names() -> frozenset[str]:
    """Names the embedded server answers; a test compares them with the client binary."""
    return frozenset(REGISTRY)


__all__ = ["Services", "dispatch", "rpc_method_names"]
