"""Kinematic bicycle vehicles driven by `VehicleControl`, following the road surface.

The Traffic Manager's PID controllers were tuned on CARLA's PhysX cars, so the model keeps
the traits they rely on: throttle/brake map to bounded accelerations, steering reaches the
wheels through UE4's input rise/fall rates and a speed-dependent steering curve, and tyres
cap lateral acceleration. All vehicles advance together in numpy arrays (one row per
vehicle; Python only reads controls and writes poses back), and the road surface under
all moving vehicles is fetched in one batched `RoadIndex` query. The arithmetic runs in
numba kernels (`vehicle_model.py`; as ~60 small numpy stages it cost more than the Python
around it); only `np.tan` and `np.arctan` stay numpy calls between kernels, because
numpy's vectorised versions round differently from libm's in the last bit and poses must
not change.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from runner.sim.world.actors import Actor
from runner.sim.world.geometry import Transform, Vec3
from runner.sim.world.road_state import RoadHits, RoadIndex
from runner.sim.world.vehicle_model import (
    OUT_ROWS,
    ROW_ACC,
    ROW_BETA,
    ROW_ROLL,
    ROW_SPEED,
    ROW_SPIN,
    ROW_TAN,
    ROW_VEL,
    ROW_X,
    ROW_Z,
    curvature_kernel,
    drive_kernel,
    land_kernel,
    pose_kernel,
    roll_kernel,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class VehicleLimits:
    """Per-blueprint dynamics, derived from base_type and the bounding box."""

    wheelbase_m: float
    max_steer_rad: float
    max_accel_mps2: float
    max_brake_mps2: float
    top_speed_mps: float
    reverse_top_speed_mps: float
    hand_brake_mps2: float
    max_lateral_mps2: float


_BASE = {  # accel, brake, top speed, reverse top, hand brake, lateral, steer [deg]
    "car": (3.5, 8.0, 50.0, 8.0, 5.0, 8.5, 70.0),
    "van": (2.5, 7.0, 40.0, 6.0, 4.5, 7.0, 60.0),
    "truck": (1.5, 6.0, 30.0, 5.0, 4.0, 5.5, 55.0),
    "bus": (1.2, 5.5, 25.0, 4.0, 4.0, 5.0, 55.0),
    "motorcycle": (4.5, 8.0, 50.0, 2.0, 5.0, 8.0, 45.0),
    "bicycle": (1.5, 5.0, 8.0, 1.5, 4.0, 5.0, 45.0),
}


def vehicle_limits(actor: Actor) -> VehicleLimits:
    """Plausible limits for a vehicle actor (CARLA's come from its PhysX asset)."""
    length_m = 2.0 * actor.bounding_box.extent[0]
    kind = actor.attribute("base_type").lower()
    if kind not in _BASE:
        kind = "bus" if length_m > 9.0 else "truck" if length_m > 6.0 else "car"
    accel, brake, top, rev, hand, lateral, steer_deg = _BASE[kind]
    wheelbase = max(0.8, 0.6 * length_m) if length_m > 0.0 else 2.8
    return VehicleLimits(wheelbase, math.radians(steer_deg), accel, brake, top, rev, hand, lateral)


class GroundQuery:
    """Road surface under points: z and normal of the lane plane (CARLA origin = ground)."""

    def __init__(self, index: RoadIndex | None) -> None:
        self.index = index

    @classmethod
    def from_map(cls, carla_map: Any) -> GroundQuery:
        return cls(RoadIndex(carla_map))

    def surface(self, points: np.ndarray) -> RoadHits:
        if self.index is None:
            n = len(points)
            normal = np.tile(np.array([0.0, 0.0, 1.0]), (n, 1))
            return RoadHits(np.full(n, -1, dtype=np.int64), points[:, 2].copy(), normal)
        return self.index.query(points)


class _Rows:
    """Hidden per-vehicle state as arrays, rebuilt only when the set of vehicles changes."""

    LIMITS = (
        "wheelbase_m",
        "max_steer_rad",
        "max_accel_mps2",
        "max_brake_mps2",
        "top_speed_mps",
        "reverse_top_speed_mps",
        "hand_brake_mps2",
        "max_lateral_mps2",
    )

    def __init__(
        self, actors: Sequence[Actor], saved: dict[int, tuple[float, float, bool]]
    ) -> None:
        self.ids = [a.id for a in actors]
        lims = [vehicle_limits(a) for a in actors]
        n = len(actors)
        # (N, 8) in LIMITS order: what the kernels read
        self.limits = np.array(
            [[getattr(x, name) for name in self.LIMITS] for x in lims], dtype=np.float64
        ).reshape(n, len(self.LIMITS))
        self.no_cv = np.zeros((n, 2))  # constant velocity (forward, lateral) when none is set
        self.out = np.zeros((OUT_ROWS, n))  # kernel outputs, one row per quantity
        self.gear = np.zeros(n, dtype=np.int64)
        self.follow = np.zeros(n, dtype=bool)
        self.set_gear = np.zeros(n, dtype=bool)
        state = [saved.get(i, (0.0, 0.0, False)) for i in self.ids]
        self.steer = np.array([x[0] for x in state], dtype=np.float64)  # after rise/fall rates
        self.vz = np.array([x[1] for x in state], dtype=np.float64)  # dropping onto the road
        self.grounded = np.array([x[2] for x in state], dtype=bool)

    def save(self, into: dict[int, tuple[float, float, bool]]) -> None:
        for i, steer, vz, grounded in zip(
            self.ids, self.steer.tolist(), self.vz.tolist(), self.grounded.tolist(), strict=True
        ):
            into[i] = (steer, vz, grounded)


class VehiclePhysics:
    """Integrates every vehicle's pose from its control; owns only per-vehicle hidden state."""

    def __init__(self, ground: GroundQuery) -> None:
        self._ground = ground
        self._saved: dict[int, tuple[float, float, bool]] = {}
        self._rows: _Rows | None = None

    def forget(self, actor_id: int) -> None:
        if self._rows is not None and actor_id in self._rows.ids:
            self._rows.save(self._saved)
            self._rows = None
        self._saved.pop(actor_id, None)

    def _rows_for(self, actors: list[Actor]) -> _Rows:
        rows = self._rows
        if rows is None or rows.ids != [a.id for a in actors]:
            if rows is not None:
                rows.save(self._saved)
            rows = self._rows = _Rows(actors, self._saved)
        return rows

    def step(self, vehicles: Sequence[Actor], dt_s: float) -> None:
        """Advance vehicles by dt_s; pose, velocities and `speed_mps` are updated in place."""
        if dt_s <= 0.0:
            return
        active: list[Actor] = []
        for actor in vehicles:
            if actor.vehicle is None:
                continue
            if actor.simulate_physics:
                active.append(actor)
            else:
                _hold(actor)
        if active:
            _advance(active, self._rows_for(active), self._ground, dt_s)


def set_target_velocity(actor: Actor, velocity: Vec3) -> None:
    """`set_target_velocity`: a one-off velocity the bicycle keeps along its heading."""
    state = actor.vehicle
    fwd = actor.transform.forward()
    actor.velocity = velocity
    if state is not None:
        state.speed_mps = velocity[0] * fwd[0] + velocity[1] * fwd[1] + velocity[2] * fwd[2]


def _hold(actor: Actor) -> None:
    """Physics off: the pose only changes through set_transform; nothing moves by itself."""
    actor.velocity = actor.angular_velocity = actor.acceleration = (0.0, 0.0, 0.0)
    assert actor.vehicle is not None
    actor.vehicle.speed_mps = 0.0


_ZERO: Vec3 = (0.0, 0.0, 0.0)
_COLUMNS = 17  # what `_read` returns per vehicle


def _read(a: Actor) -> tuple[float, ...]:
    t, state = a.transform, a.vehicle
    assert state is not None
    c, v = state.control, a.velocity
    return (
        t.x,
        t.y,
        t.z,
        t.pitch,
        t.yaw,
        t.roll,
        state.speed_mps,
        c.throttle,
        c.steer,
        c.brake,
        c.hand_brake,
        c.reverse,
        c.manual_gear_shift,
        a.constant_velocity is not None,
        v[0],
        v[1],
        v[2],
    )


def _advance(actors: list[Actor], rows: _Rows, ground: GroundQuery, dt_s: float) -> None:
    """One bicycle step for every row, then the road surface under those that moved."""
    n = len(actors)
    read = itertools.chain.from_iterable(map(_read, actors))  # fromiter: 2x np.array
    data = np.fromiter(read, np.float64, n * _COLUMNS).reshape(n, _COLUMNS)
    cv = rows.no_cv
    if data[:, 13].any():
        cv = np.zeros((n, 2))
        for k in np.flatnonzero(data[:, 13]).tolist():
            fixed = actors[k].constant_velocity
            assert fixed is not None
            cv[k] = fixed[0], fixed[1]
    out, lim = rows.out, rows.limits
    drive_kernel(data, cv, lim, rows.steer, dt_s, out)
    np.tan(out[ROW_TAN], out=out[ROW_TAN])  # numpy's, not libm's: see the module docstring
    curvature_kernel(out, lim)
    np.arctan(out[ROW_BETA], out=out[ROW_BETA])  # slip angle at the box centre
    pose_kernel(data, out, rows.grounded, dt_s, rows.gear, rows.follow, rows.set_gear)
    follow = rows.follow
    if follow.any():
        _settle(ground, rows, np.flatnonzero(follow), dt_s)
    _write(actors, rows)


def _write(actors: list[Actor], rows: _Rows) -> None:
    """Poses of rows that moved; velocities, speed (zero for still rows) and gears.

    Column-wise with C-level zips: a per-actor loop building tuples cost about as much as
    all the arithmetic. Still rows come out of `pose_kernel` with zeros.
    """
    out = rows.out
    follow = rows.follow
    if follow.all():
        poses = _transforms([out[k].tolist() for k in range(6)])
        for actor, pose in zip(actors, poses, strict=True):
            actor.transform = pose
    elif follow.any():
        poses = _transforms([out[k, follow].tolist() for k in range(6)])
        for actor, pose in zip(compress(actors, follow.tolist()), poses, strict=True):
            actor.transform = pose
    vel = zip(*(out[k].tolist() for k in range(ROW_VEL, ROW_VEL + 3)), strict=True)
    acc = zip(*(out[k].tolist() for k in range(ROW_ACC, ROW_ACC + 3)), strict=True)
    spin = zip(repeat(0.0), repeat(0.0), out[ROW_SPIN].tolist())
    for actor, v, a, w, speed in zip(actors, vel, acc, spin, out[ROW_SPEED].tolist(), strict=True):
        state = actor.vehicle
        assert state is not None
        actor.velocity = v
        actor.acceleration = a
        actor.angular_velocity = w
        state.speed_mps = speed
    set_gear = rows.set_gear
    shifted = zip(compress(actors, set_gear.tolist()), rows.gear[set_gear].tolist(), strict=True)
    for actor, gear in shifted:
        state = actor.vehicle
        assert state is not None
        state.control.gear = gear


_TRANSFORM_FIELDS = ("x", "y", "z", "pitch", "yaw", "roll")
_TRANSFORM_SLOTS = tuple(getattr(Transform, name).__set__ for name in _TRANSFORM_FIELDS)


def _transforms(columns: list[list[float]]) -> list[Transform]:
    """`[Transform(*row) for row in zip(*columns)]`, about twice as fast.

    The frozen dataclass's __init__ sets each field through object.__setattr__ (~1 µs a
    pose, 0.2 ms at 200 cars); filling the slots through their descriptors in C-level maps
    builds the same immutable objects. Valid while Transform is a plain slots dataclass of
    these fields without __post_init__ (tests/test_vehicle_physics_kernel.py checks).
    """
    poses = cast(list[Transform], list(map(object.__new__, repeat(Transform, len(columns[0])))))
    for fill, column in zip(_TRANSFORM_SLOTS, columns, strict=True):
        deque(map(fill, poses, column), maxlen=0)
    return poses


def _settle(ground: GroundQuery, rows: _Rows, idx: IntArray, dt_s: float) -> None:
    """Put vehicles `idx` on the road plane (dropping if spawned above it), aligned to it.

    Writes z, pitch and roll of those rows of `rows.out` in place; rows off the road, or
    with the road far above or below them, keep their pose. The two arctan2 are numpy's
    (see the module docstring), the rest two small kernels.
    """
    out = rows.out
    hits = ground.surface(np.ascontiguousarray(out[ROW_X : ROW_Z + 1, idx].T))
    sel = np.empty(len(idx), dtype=np.int64)
    plane = np.empty((4, len(idx)))
    m = land_kernel(
        idx,
        np.ascontiguousarray(hits.index, dtype=np.int64),
        np.ascontiguousarray(hits.ground_z, dtype=np.float64),
        np.ascontiguousarray(hits.normal, dtype=np.float64),
        rows.vz,
        rows.grounded,
        out,
        dt_s,
        sel,
        plane,
    )
    if m == 0:
        return
    sel, plane = sel[:m], plane[:, :m]
    pitch = np.arctan2(plane[0], plane[1])
    roll_kernel(sel, pitch, plane, out)
    out[ROW_ROLL, sel] = np.degrees(np.arctan2(plane[2], plane[3]))
