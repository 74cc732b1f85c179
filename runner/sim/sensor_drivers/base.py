"""The one protocol every server-side sensor type implements, and its registry.

A sensor type is a `SensorDriver` registered under its blueprint ids: the hub creates
each sensor's state with `start`, offers it every step with `sample`, and calls
`flush` once per step so drivers that batch (cameras sharing a pose render in one
pass) can do their work. Adding a sensor type is one module in this package (found
by `runner.sim.sensor_drivers.drivers()`) plus its catalog entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from runner.sim.step import StepResult
from runner.sim.world.actors import Actor
from runner.sim.world.loaded_map import LoadedMap

if TYPE_CHECKING:
    from runner.sim.render.renderer import Renderer


@dataclass
class SensorRuntime:
    """One sensor actor as the hub keeps it: its pacing and its driver's state."""

    actor: Actor
    sensor_tick_s: float
    driver: SensorDriver | None = None  # None: a type nothing measures (it stays silent)
    next_due_s: float = 0.0
    state: Any = None

    def due(self, elapsed_s: float) -> bool:
        """CARLA's `sensor_tick`: at most one frame per interval of simulated time."""
        if self.sensor_tick_s <= 0.0:
            return True
        if elapsed_s + 1e-9 >= self.next_due_s:
            self.next_due_s = max(self.next_due_s + self.sensor_tick_s, elapsed_s)
            return True
        return False


class HubServices(Protocol):
    """What the hub lends a driver: publishing, the GL thread and the episode's map."""

    def publish(self, stream_id: int, payload: bytes) -> None: ...

    def submit_gl(self, work: Callable[[], None], stream_ids: list[int]) -> None: ...

    def renderer(self) -> Renderer: ...

    def token(self, stream_id: int) -> bytes: ...

    def loaded_map(self) -> LoadedMap: ...


class SensorDriver(Protocol):
    """How one sensor type turns a step into stream frames."""

    def start(self, actor: Actor, hub: HubServices) -> Any:
        """The sensor's state (None if it needs none), made when it spawns."""
        ...

    def sample(self, rt: SensorRuntime, step: StepResult, listened: bool, hub: HubServices) -> None:
        """This step's measurement; `listened` says whether anyone reads the stream."""
        ...

    def flush(self, step: StepResult, hub: HubServices) -> None:
        """After every sensor was sampled: batched work (one render pass per pose)."""
        ...


class PerSensorDriver:
    """Base for drivers that publish one frame per due, listened sensor and batch nothing."""

    def start(self, actor: Actor, hub: HubServices) -> Any:
        return None

    def sample(self, rt: SensorRuntime, step: StepResult, listened: bool, hub: HubServices) -> None:
        if listened and rt.due(step.elapsed_s):
            self.measure(rt, step, hub)

    def measure(self, rt: SensorRuntime, step: StepResult, hub: HubServices) -> None:
        raise NotImplementedError

    def flush(self, step: StepResult, hub: HubServices) -> None:
        return None


DRIVERS: dict[str, type[SensorDriver]] = {}
"""Driver class by blueprint id; each hub makes one instance per class (drivers that
batch keep per-step state, so they are never shared between servers)."""


def sensor_driver(*blueprint_ids: str) -> Callable[[type[Any]], type[Any]]:
    """Class decorator: the driver serves these blueprint ids."""

    def register(cls: type[Any]) -> type[Any]:
        for bp in blueprint_ids:
            if bp in DRIVERS:
                raise RuntimeError(f"two sensor drivers for {bp}")
            DRIVERS[bp] = cls
        return cls

    return register


def float_attribute(actor: Actor, name: str, default: float) -> float:
    """A blueprint attribute as a float, the default when absent or not a number."""
    try:
        return float(actor.attribute(name, str(default)))
    except ValueError:
        return default
