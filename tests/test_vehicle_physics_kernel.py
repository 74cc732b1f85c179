"""The numba physics and road kernels against straightforward numpy references.

The references are the former all-numpy implementations; the kernels keep their operation
order, so poses, velocities and road answers must agree bit for bit on random inputs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from runner.sim.world import road_state as rs
from runner.sim.world import vehicle_model as vm
from runner.sim.world import vehicle_physics as vp
from runner.sim.world import vehicle_road as vr
from runner.sim.world.actors import Actor, ActorKind, VehicleState
from runner.sim.world.geometry import BoundingBox, Transform

DT_S = 0.05
N = 300


class _TiltedGround(vp.GroundQuery):
    """A plane z = a x + b y + c everywhere except x < -40 (off the road)."""

    def __init__(self, a: float, b: float, c: float) -> None:
        super().__init__(None)
        self.plane = (a, b, c)

    def surface(self, points: np.ndarray) -> rs.RoadHits:
        a, b, c = self.plane
        n = np.array([-a, -b, 1.0]) / np.sqrt(a * a + b * b + 1.0)
        on = points[:, 0] >= -40.0
        z = np.where(on, a * points[:, 0] + b * points[:, 1] + c, points[:, 2])
        normal = np.where(on[:, None], n[None, :], np.array([0.0, 0.0, 1.0]))
        return rs.RoadHits(np.where(on, 0, -1).astype(np.int64), z, normal)


def _reference_step(
    data: np.ndarray, lim: np.ndarray, hidden: dict[str, np.ndarray], ground: vp.GroundQuery
) -> dict[str, np.ndarray]:
    """The former numpy `_advance` on columns of `vp._read` rows plus (cv forward, lateral)."""
    x, y, z, pitch_deg, yaw_deg, roll_deg, v0 = (data[:, k] for k in range(7))
    throttle_in, steer_in, brake_in = data[:, 7], data[:, 8], data[:, 9]
    hand, reverse, manual, cv_on = (data[:, k] > 0.5 for k in (10, 11, 12, 13))
    wb, max_steer, acc_max, brk, top_f, top_r, hand_b, lat = lim.T
    pitch = np.radians(pitch_deg)
    direction = np.where(reverse, -1.0, 1.0)
    top = np.where(reverse, top_r, top_f)
    along = np.maximum(0.0, v0 * direction)
    throttle = np.clip(throttle_in, 0.0, 1.0)
    drive = np.where(hand, 0.0, direction * throttle * acc_max)
    drive = drive * np.maximum(0.0, 1.0 - along / top)
    slope = -vm.GRAVITY_MPS2 * np.sin(pitch)
    resist = vm.ROLLING_MPS2 + vm.AERO_PER_M * v0 * v0
    resist = resist + np.clip(brake_in, 0.0, 1.0) * brk
    resist = resist + np.where(hand, hand_b, 0.0)
    coasting = (throttle == 0.0) & (np.abs(v0) > vm.STILL_MPS)
    resist = resist + np.where(coasting, vm.ENGINE_BRAKE_MPS2, 0.0)
    free = v0 + (drive + slope) * DT_S
    v1 = np.where(np.abs(free) <= resist * DT_S, 0.0, free - np.copysign(resist * DT_S, free))
    v1 = np.where(cv_on, data[:, 17], v1)
    lateral = np.where(cv_on, data[:, 18], 0.0)
    target, current = np.clip(steer_in, -1.0, 1.0), hidden["steer"]
    rising = (np.abs(target) > np.abs(current)) & (target * current >= 0.0)
    rate = np.where(rising, vm.STEER_RISE_PER_S, vm.STEER_FALL_PER_S) * DT_S
    hidden["steer"] = steer = current + np.clip(target - current, -rate, rate)
    factor = np.interp(np.abs(v1) * 3.6, vm._CURVE_KMH, vm._CURVE_FACTOR)
    curvature = np.tan(steer * max_steer * factor) / wb
    v2 = v1 * v1
    moving = v2 > 1e-6
    cap = lat / np.where(moving, v2, 1.0)
    curvature = np.where(moving, np.clip(curvature, -cap, cap), curvature)
    rest = (v1 == 0.0) & (v0 == 0.0) & (lateral == 0.0)
    v_mid = np.where(cv_on, v1, 0.5 * (v0 + v1))
    yaw_rate = v_mid * curvature
    beta = np.arctan(0.5 * wb * curvature)
    yaw0 = np.radians(yaw_deg)
    heading = yaw0 + 0.5 * yaw_rate * DT_S + beta
    cos_h, sin_h, cos_p = np.cos(heading), np.sin(heading), np.cos(pitch)
    step_m, side_m = v_mid * DT_S, lateral * DT_S
    x1 = np.where(rest, x, x + step_m * cos_h * cos_p - side_m * sin_h)
    y1 = np.where(rest, y, y + step_m * sin_h * cos_p + side_m * cos_h)
    z1 = np.where(rest, z, z + step_m * np.sin(pitch))
    yaw1 = yaw0 + yaw_rate * DT_S
    yaw1_deg = np.where(rest, yaw_deg, np.degrees(yaw1))
    h1 = yaw1 + beta
    vel = np.stack(
        [
            v1 * cos_p * np.cos(h1) - lateral * np.sin(h1),
            v1 * cos_p * np.sin(h1) + lateral * np.cos(h1),
            v1 * np.sin(pitch),
        ],
        axis=1,
    )
    accel = (vel - data[:, 14:17]) / DT_S
    pitch1, roll1 = pitch_deg.copy(), roll_deg.copy()
    idx = np.flatnonzero(~rest | ~hidden["grounded"])
    hits = ground.surface(np.stack([x1[idx], y1[idx], z1[idx]], axis=1))
    height = z1[idx] - hits.ground_z
    ok = (hits.index >= 0) & (height >= -vm.GROUND_BELOW_M) & (height <= vm.GROUND_ABOVE_M)
    idx, height, gz, nrm = idx[ok], height[ok], hits.ground_z[ok], hits.normal[ok]
    falling = (height > vm.GROUND_SNAP_M) & ~hidden["grounded"][idx]
    vz = np.where(falling, hidden["vz"][idx] - vm.GRAVITY_MPS2 * DT_S, hidden["vz"][idx])
    settled = np.where(falling, np.maximum(gz, z1[idx] + vz * DT_S), gz)
    landed = settled <= gz
    hidden["vz"][idx] = np.where(landed, 0.0, vz)
    hidden["grounded"][idx] |= landed
    z1[idx] = settled
    cy, sy = np.cos(np.radians(yaw1_deg[idx])), np.sin(np.radians(yaw1_deg[idx]))
    along_n = nrm[:, 0] * cy + nrm[:, 1] * sy
    p = np.arctan2(-along_n, nrm[:, 2])
    a = np.sin(p) * along_n - nrm[:, 2] * np.cos(p)
    pitch1[idx] = np.degrees(p)
    roll1[idx] = np.degrees(np.arctan2(nrm[:, 1] * cy - nrm[:, 0] * sy, -a))
    gear = np.where(reverse, -1, 1 + np.minimum(4, np.floor(np.abs(v1) / 9.0))).astype(np.int64)
    still = rest[:, None]
    return {
        "pose": np.stack([x1, y1, z1, pitch1, yaw1_deg, roll1], axis=1),
        "vel": np.where(still, 0.0, vel),
        "acc": np.where(still, 0.0, accel),
        "spin": np.where(rest, 0.0, np.degrees(yaw_rate)),
        "speed": np.where(rest, 0.0, v1),
        "gear": gear,
        "set_gear": ~rest & ~manual,
    }


def _fleet(rng: np.random.Generator) -> list[Actor]:
    kinds = ["car", "van", "truck", "bus", "motorcycle", "bicycle"]
    fleet = []
    for i in range(N):
        length = rng.uniform(1.5, 12.0)
        pose = Transform(
            rng.uniform(-60, 60),
            rng.uniform(-60, 60),
            rng.uniform(-2, 4),
            0.0,
            rng.uniform(-180, 180),
        )
        fleet.append(
            Actor(
                i + 1,
                "vehicle.test",
                ActorKind.VEHICLE,
                {"base_type": (8, kinds[i % len(kinds)])},
                pose,
                BoundingBox((0.0, 0.0, 0.7), (length / 2, 1.0, 0.7)),
                vehicle=VehicleState(speed_mps=float(rng.choice([0.0, rng.uniform(-5, 30)]))),
            )
        )
    return fleet


def _randomise(fleet: list[Actor], rng: np.random.Generator) -> None:
    for a in fleet:
        assert a.vehicle is not None
        c = a.vehicle.control
        c.throttle = float(rng.choice([0.0, 1.0, rng.uniform(-0.2, 1.2)]))
        c.steer = float(rng.choice([0.0, rng.uniform(-1.5, 1.5)]))
        c.brake = float(rng.choice([0.0, 0.0, 1.0, rng.uniform(0, 1)]))
        c.hand_brake, c.reverse = bool(rng.random() < 0.05), bool(rng.random() < 0.1)
        c.manual_gear_shift = bool(rng.random() < 0.1)
        a.constant_velocity = (
            (float(rng.uniform(-5, 20)), float(rng.uniform(-2, 2)), 0.0)
            if rng.random() < 0.05
            else None
        )
        if rng.random() < 0.05:
            a.transform = dataclasses.replace(a.transform, pitch=float(rng.uniform(-15, 15)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_matches_the_numpy_reference_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ground = _TiltedGround(0.03, -0.02, 0.5)
    fleet = _fleet(rng)
    lim = np.array([[getattr(vp.vehicle_limits(a), k) for k in vp._Rows.LIMITS] for a in fleet])
    hidden = {"steer": np.zeros(N), "vz": np.zeros(N), "grounded": np.zeros(N, dtype=bool)}
    physics = vp.VehiclePhysics(ground)
    for _ in range(40):
        _randomise(fleet, rng)
        data = np.array([vp._read(a) for a in fleet], dtype=np.float64)
        cv = np.array([a.constant_velocity[:2] if a.constant_velocity else (0, 0) for a in fleet])
        gears_before = [a.vehicle.control.gear for a in fleet if a.vehicle is not None]
        want = _reference_step(np.hstack([data, cv]), lim, hidden, ground)
        physics.step(fleet, DT_S)
        got_pose = np.array([dataclasses.astuple(a.transform) for a in fleet])
        np.testing.assert_array_equal(got_pose, want["pose"])
        np.testing.assert_array_equal(np.array([a.velocity for a in fleet]), want["vel"])
        np.testing.assert_array_equal(np.array([a.acceleration for a in fleet]), want["acc"])
        spin = np.array([a.angular_velocity for a in fleet])
        np.testing.assert_array_equal(spin[:, 2], want["spin"])
        assert not spin[:, :2].any()
        speeds = [a.vehicle.speed_mps for a in fleet if a.vehicle is not None]
        np.testing.assert_array_equal(speeds, want["speed"])
        gears = [a.vehicle.control.gear for a in fleet if a.vehicle is not None]
        expected = np.where(want["set_gear"], want["gear"], gears_before)
        assert gears == expected.tolist()
        assert all(type(v) is float for a in fleet for v in (*a.velocity, a.transform.x))
        rows = physics._rows
        assert rows is not None
        for name in ("steer", "vz", "grounded"):
            np.testing.assert_array_equal(getattr(rows, name), hidden[name])


def test_fast_transforms_equal_the_constructor() -> None:
    assert tuple(f.name for f in dataclasses.fields(Transform)) == vp._TRANSFORM_FIELDS
    assert not hasattr(Transform, "__post_init__")
    cols = [np.random.default_rng(3).normal(size=50).tolist() for _ in range(6)]
    fast = vp._transforms(cols)
    assert fast == [Transform(*row) for row in zip(*cols, strict=True)]
    assert all(type(t) is Transform for t in fast)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast[0].x = 1.0  # type: ignore[misc]


def _index(rng: np.random.Generator) -> rs.RoadIndex:
    """A RoadIndex of random lane samples (two levels, as on a bridge), no carla map."""
    index = rs.RoadIndex.__new__(rs.RoadIndex)
    m = 3000
    index.position = np.ascontiguousarray(
        np.stack(
            [rng.uniform(-80, 80, m), rng.uniform(-80, 80, m), rng.choice([0.0, 7.0], m)], axis=1
        )
    )
    yaw = rng.uniform(-np.pi, np.pi, m)
    index.forward = np.stack([np.cos(yaw), np.sin(yaw)], axis=1)
    index.normal = rs._up_vectors(rng.normal(0, 0.05, m), yaw, rng.normal(0, 0.05, m))
    index.half_width = rng.uniform(1.5, 2.0, m)
    index.speed_limit_kmh = np.where(rng.random(m) < 0.5, np.nan, rng.choice([30.0, 60.0], m))
    index.light_slot = np.where(rng.random(m) < 0.4, rng.integers(0, 5, m), -1)
    index.light_dist_m = rng.uniform(-5, 45, m)
    index._build_grid()
    return index


def test_query_finds_the_true_nearest_sample_and_its_plane() -> None:
    rng = np.random.default_rng(4)
    index = _index(rng)
    pts = np.stack(
        [rng.uniform(-100, 100, 4000), rng.uniform(-100, 100, 4000), rng.uniform(-1, 9, 4000)],
        axis=1,
    )
    pts[:5] = np.nan
    hits = index.query(pts)
    rel = index.position[None, :, :] - pts[:, None, :]
    rel[:, :, 2] *= rs.Z_WEIGHT
    d2 = (rel * rel).sum(axis=2)
    best = np.argmin(np.where(np.isnan(d2), np.inf, d2), axis=1)
    sure = np.nanmin(np.where(np.isnan(d2), np.inf, d2), axis=1) <= (rs.CELL_REACH * rs.CELL_M) ** 2
    q = best
    lateral = np.abs(
        (pts[:, 0] - index.position[q, 0]) * -index.forward[q, 1]
        + (pts[:, 1] - index.position[q, 1]) * index.forward[q, 0]
    )
    on = sure & (lateral <= index.half_width[q] + rs.ROAD_MARGIN_M)
    assert on.sum() > 1000 and (~on).sum() > 100
    np.testing.assert_array_equal(hits.index[on], q[on])
    nrm = index.normal[q]
    rx, ry = pts[:, 0] - index.position[q, 0], pts[:, 1] - index.position[q, 1]
    plane = index.position[q, 2] - (nrm[:, 0] * rx + nrm[:, 1] * ry) / nrm[:, 2]
    np.testing.assert_array_equal(hits.ground_z[on], plane[on])
    np.testing.assert_array_equal(hits.normal[on], nrm[on])
    off = hits.index < 0
    np.testing.assert_array_equal(hits.ground_z[off], pts[off, 2])
    np.testing.assert_array_equal(hits.normal[off], np.tile([0.0, 0.0, 1.0], (off.sum(), 1)))
    assert (hits.index[:5] == -1).all()
    # the batched table API agrees with the kernel's per-point walk
    found, nearest = index._nearest(pts[5:])
    np.testing.assert_array_equal(nearest[hits.index[5:] >= 0], hits.index[5:][hits.index[5:] >= 0])
    assert found[hits.index[5:] >= 0].all()


def test_light_geometry_matches_the_numpy_reference() -> None:
    rng = np.random.default_rng(5)
    index = _index(rng)
    n = 500
    data = np.stack(
        [
            rng.uniform(-80, 80, n),
            rng.uniform(-80, 80, n),
            rng.uniform(-1, 8, n),
            rng.uniform(-180, 180, n),
            rng.uniform(1, 6, n),
        ],
        axis=1,
    )
    sample = np.where(rng.random(n) < 0.2, -1, rng.integers(0, len(index.position), n))
    has_light = np.array([True, False, True, True, True])
    limit, front = np.empty(n), np.empty(n)
    slot, check = np.empty(n, dtype=np.int64), np.empty(n, dtype=bool)
    vr._light_geometry_kernel(
        data,
        sample,
        index.speed_limit_kmh,
        index.light_slot,
        index.light_dist_m,
        index.forward,
        index.position,
        has_light,
        limit,
        slot,
        check,
        front,
    )
    on_road, at = sample >= 0, np.maximum(sample, 0)
    want_slot = np.where(on_road, index.light_slot[at], -1)
    np.testing.assert_array_equal(limit, np.where(on_road, index.speed_limit_kmh[at], np.nan))
    np.testing.assert_array_equal(slot, want_slot)
    fwd, xy = index.forward[at], index.position[at]
    yaw = np.radians(data[:, 3])
    aligned = np.cos(yaw) * fwd[:, 0] + np.sin(yaw) * fwd[:, 1] >= vr.ALIGNED_COS
    along = (data[:, 0] - xy[:, 0]) * fwd[:, 0]
    along += (data[:, 1] - xy[:, 1]) * fwd[:, 1]
    np.testing.assert_array_equal(front, index.light_dist_m[at] - along - data[:, 4])
    want_check = (want_slot >= 0) & has_light[np.maximum(want_slot, 0)] & aligned
    np.testing.assert_array_equal(check, want_check)
    assert check.any() and (~check & (want_slot >= 0)).any()
