"""How the RPC table answers what its handlers do: errors, bad arguments and bugs.

Pure: `dispatch` is called with a stand-in for the simulator (only its lock is used)
and a handler registered for the test; the real server is covered elsewhere.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from runner.sim.handlers.registry import REGISTRY, CallContext, RpcError, dispatch, rpc
from runner.sim.world.errors import WorldError

METHOD = "test_only_method"


@pytest.fixture()
def handler() -> Iterator[dict[str, Any]]:
    """A registered method whose behaviour the test picks."""
    behaviour: dict[str, Any] = {}

    @rpc(METHOD)
    def fn(ctx: CallContext, value: int) -> int:
        if "raise" in behaviour:
            raise behaviour["raise"]
        return value * 2

    yield behaviour
    del REGISTRY[METHOD]


def call(*args: Any) -> Any:
    sim: Any = SimpleNamespace(lock=threading.RLock())
    conn: Any = SimpleNamespace(peer="test", id=1)
    services: Any = SimpleNamespace()
    return dispatch(sim, services, conn, METHOD, [[False], *args])


def test_a_value_is_wrapped_as_a_response(handler: dict[str, Any]) -> None:
    assert call(21) == [[1, 42]]


def test_carla_style_errors_pass_through(handler: dict[str, Any]) -> None:
    handler["raise"] = RpcError("unable to find actor 7: not found")
    assert call(1) == [[0, ["unable to find actor 7: not found"]]]
    handler["raise"] = WorldError("Actor blueprint 'x' not found in the blueprint library")
    assert call(1) == [[0, ["Actor blueprint 'x' not found in the blueprint library"]]]


def test_wrong_arity_is_bad_arguments(handler: dict[str, Any]) -> None:
    (answer,) = call(1, 2, 3)
    assert answer[0] == 0 and answer[1][0].startswith(f"bad arguments for function {METHOD}")


def test_a_handler_bug_is_logged_with_its_traceback(
    handler: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    handler["raise"] = KeyError("oops")
    with caplog.at_level(logging.ERROR, logger="runner.sim.rpc"):
        (answer,) = call(1)
    assert answer[0] == 0 and "internal error" in answer[1][0]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None and record.exc_info[0] is KeyError
