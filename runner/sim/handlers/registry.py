"""The RPC method table and CARLA's result wrapping.

Handlers are plain functions `fn(ctx, *args)`; the decorator records how the result is
wrapped (`Response<T>`, `Response<void>` or the bare `apply_batch` list). A handler
raises `RpcError` (or lets the world's `WorldError` through) for an answer the client
shows as `RuntimeError(text)`. Arguments that do not fit the handler's signature or
cannot be decoded are answered "bad arguments"; any other exception is a bug: it is
logged with its traceback and answered as an internal error, never left unanswered.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from runner.sim.errors import RpcError
from runner.sim.protocol.codec import DecodeError
from runner.sim.protocol.rpc import Connection, Prepacked
from runner.sim.world.errors import WorldError

if TYPE_CHECKING:
    from runner.sim.recorder.host import RecorderHost
    from runner.sim.sensor_hub import SensorHub
    from runner.sim.simulator import Simulator
    from runner.sim.traffic.service import TrafficService

log = logging.getLogger("runner.sim.rpc")

ResultKind = Literal["value", "void", "bare"]
VOID_OK: list[Any] = [[False]]


@dataclass(frozen=True, slots=True)
class Services:
    """What the server runs beside the simulator core; handlers reach them here."""

    sensors: SensorHub
    recorder: RecorderHost
    traffic: TrafficService | None  # None: clients run CARLA's in-client Traffic Manager


@dataclass(frozen=True, slots=True)
class CallContext:
    sim: Simulator
    services: Services
    conn: Connection


Handler = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    fn: Handler
    kind: ResultKind


REGISTRY: dict[str, Method] = {}


def rpc(name: str, kind: ResultKind = "value") -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if name in REGISTRY:
            raise RuntimeError(f"RPC {name} registered twice")
        REGISTRY[name] = Method(name, fn, kind)
        return fn

    return register


def unsupported(name: str, what: str, kind: ResultKind = "value") -> None:
    """Register a method the embedded simulator answers with a clear error."""

    def fn(ctx: CallContext, *args: Any) -> Any:
        raise RpcError(f"{what} is not supported by the embedded simulator")

    rpc(name, kind)(fn)


def error(text: str) -> list[Any]:
    return [[0, [text]]]


def wrap(kind: ResultKind, value: Any) -> Any:
    if kind == "void":
        return VOID_OK
    if kind == "bare":
        return value
    if isinstance(value, Prepacked):
        return Prepacked(b"\x91\x92\x01" + value)
    return [[1, value]]


@functools.cache
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """A handler's signature, read once (inspect.signature costs tens of us per call)."""
    return inspect.signature(fn)


def dispatch(
    sim: Simulator, services: Services, conn: Connection, method: str, params: list[Any]
) -> Any:
    """Answer one call; every path returns something the client can decode."""
    entry = REGISTRY.get(method)
    log.debug("call %s%r", method, params[1:])
    if entry is None:
        log.warning("unknown RPC %r from %s", method, conn.peer)
        return error(f"rpclib: server could not find function '{method}'")
    args = params[1:]
    ctx = CallContext(sim, services, conn)
    try:
        _signature(entry.fn).bind(ctx, *args)
    except TypeError as exc:
        log.warning("bad arguments for %s: %s", method, exc)
        return error(f"bad arguments for function {method}: {exc}")
    try:
        with sim.lock:
            value = entry.fn(ctx, *args)
    except (RpcError, WorldError) as exc:
        return error(str(exc)) if entry.kind != "bare" else []
    except (DecodeError, TypeError, ValueError) as exc:
        log.warning("bad arguments for %s: %s", method, exc, exc_info=True)
        return error(f"bad arguments for function {method}: {exc}")
    except Exception as exc:
        log.exception("internal error in %s", method)
        return error(f"internal error of the embedded simulator in {method}: {exc!r}")
    return wrap(entry.kind, value)
