"""Small client operations shared by the live teardown and the offline cleanup.

Both must destroy actors in one batch, put the world back into asynchronous mode
with the settings it had, and find out quickly whether a server still answers.
"""

from __future__ import annotations

from typing import Any

import carla

from runner.client_errors import is_gone

SETTINGS_FIELDS = (
    "synchronous_mode",
    "no_rendering_mode",
    "fixed_delta_seconds",
    "substepping",
    "max_substep_delta_time",
    "max_substeps",
    "max_culling_distance",
    "deterministic_ragdolls",
    "tile_stream_distance",
    "actor_active_distance",
    "spectator_as_ego",
)
CLEANUP_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 2.0


def settings_to_dict(settings: Any) -> dict[str, Any]:
    """A `carla.WorldSettings` as plain data (for the lease and the manifest)."""
    return {name: getattr(settings, name) for name in SETTINGS_FIELDS}


def async_settings(saved: dict[str, Any]) -> Any:
    """The saved settings as a `carla.WorldSettings`, always asynchronous."""
    settings = carla.WorldSettings()
    for name, value in saved.items():
        if name in SETTINGS_FIELDS:
            setattr(settings, name, value)
    settings.synchronous_mode = False
    return settings


def destroy_in_one_batch(client: Any, ids: list[int]) -> dict[int, str]:
    """Destroy `ids` in one batch, in order; returns {id: error} for those that survived.

    The batch's own answers are the truth here: the client caches actor
    descriptions, so `world.get_actors(ids)` still lists actors destroyed a moment ago.
    An actor the server no longer knows counts as destroyed. The batch is sent
    without a tick (`do_tick=False`): that variant holds the GIL while waiting.
    """
    if not ids:
        return {}
    responses = client.apply_batch_sync([carla.command.DestroyActor(i) for i in ids], False)
    return {
        actor_id: r.error
        for actor_id, r in zip(ids, responses, strict=True)
        if r.error and not is_gone(r.error)
    }


def server_answers(client: Any) -> bool:
    """A quick liveness probe, so teardown does not wait out every call on a dead server."""
    client.set_timeout(PROBE_TIMEOUT_S)
    try:
        client.get_server_version()
    except RuntimeError:
        return False
    finally:
        client.set_timeout(CLEANUP_TIMEOUT_S)
    return True
