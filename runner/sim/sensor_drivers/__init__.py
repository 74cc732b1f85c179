"""Server-side sensor types, one module each, registered by blueprint id.

`drivers()` imports every module of this package once, so a new sensor type needs no
edit outside its own module and its catalog entry.
"""

from __future__ import annotations

import importlib
import pkgutil

from runner.sim.sensor_drivers.base import DRIVERS, SensorDriver

_loaded = False


def drivers() -> dict[str, type[SensorDriver]]:
    """Every registered driver class by blueprint id (imports the package's modules once)."""
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(__path__):
            if module.name != "base":
                importlib.import_module(f"{__name__}.{module.name}")
        _loaded = True
    return DRIVERS
