"""The error a request gets answered with, shared by handlers and world operations.

`RpcError`'s text reaches the client as the `RuntimeError` CARLA itself would raise
(CARLA's wording, e.g. "unable to destroy actor: not found"). It lives here, below
both `handlers` and `actions`, so neither imports the other to raise it.
"""

from __future__ import annotations


class RpcError(Exception):
    """An error answer with CARLA-style text."""
