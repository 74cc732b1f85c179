"""Bridges the recorder RPCs to the recorder package (file writing and queries)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.sim.handlers.registry import RpcError

if TYPE_CHECKING:
    from runner.sim.simulator import Simulator


class RecorderHost:
    """Holds the active recording, if any, of one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def start(self, filename: str, additional_data: bool) -> str:
        raise RpcError("the recorder is not available in this build")

    def stop(self) -> None:
        """Nothing to stop while no recording runs."""

    def file_info(self, filename: str, show_all: bool) -> str:
        raise RpcError("the recorder is not available in this build")

    def collisions(self, filename: str, type1: str, type2: str) -> str:
        raise RpcError("the recorder is not available in this build")

    def actors_blocked(self, filename: str, min_time: float, min_distance: float) -> str:
        raise RpcError("the recorder is not available in this build")
