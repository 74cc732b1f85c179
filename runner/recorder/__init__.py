"""CARLA 0.9.16 recorder files, shared by the runner and the embedded simulator.

Pure file-format code (no server): `format` (packet ids and layouts), `reader`,
`packet_text` and `queries` (the three text queries, byte-exact with CARLA's),
`paths` (where a bare file name points). `files` is the offline API the runner uses:

    from runner.recorder import file_info, collisions, actors_blocked, read_recording

The writer lives with the simulator (`runner.sim.recorder`), which owns world state.
"""

from runner.recorder.files import (
    Recording,
    actors_blocked,
    collisions,
    file_info,
    read_recording,
)

__all__ = ["Recording", "actors_blocked", "collisions", "file_info", "read_recording"]
