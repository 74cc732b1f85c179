"""The compiled look-ahead (`obstacles.find_ahead`) against a brute-force reading of its rule.

Rule: a path entry meets an obstacle point when the entry's lane sample lies within the
point's cover radius; the pair blocks when the point is ahead along the path (distance
> 0) and laterally closer than both half widths plus the clearance, and the obstacle is
neither the row's own nor ignored by it. Each row gets its nearest blocking pair.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from runner.sim.traffic import obstacles
from runner.sim.traffic.graph import GRID_CELL_M
from runner.sim.traffic.grid import SampleGrid
from runner.sim.traffic.paths import PathGeometry

K = 24


def _scene(seed: int) -> tuple[object, PathGeometry, np.ndarray, np.ndarray, np.ndarray]:
    """Lane samples on a few parallel and crossing lanes, paths along them, obstacles on them."""
    rng = np.random.default_rng(seed)
    lanes = [(np.array([0.0, 3.5 * i]), np.array([1.0, 0.0])) for i in range(3)]
    lanes += [(np.array([20.0 + 7.0 * i, -20.0]), np.array([0.0, 1.0])) for i in range(2)]
    xy, fwd = [], []
    for origin, direction in lanes:
        for s in np.arange(-30.0, 60.0, 1.0):
            xy.append(origin + s * direction)
            fwd.append(direction)
    pos, tan = np.array(xy), np.array(fwd)
    graph = SimpleNamespace(grid=SampleGrid(pos, GRID_CELL_M), size=len(pos))
    n = 12
    lane_of = rng.integers(0, len(lanes), n)
    first = lane_of * 90 + rng.integers(0, 60, n)
    path = np.minimum(first[:, None] + np.arange(K)[None, :], lane_of[:, None] * 90 + 89)
    points = pos[path] + rng.normal(0.0, 0.2, (n, K, 2))
    tangent = tan[path]
    hop = np.linalg.norm(np.diff(points, axis=1), axis=2)
    along = np.concatenate([np.zeros((n, 1)), np.cumsum(hop, axis=1)], axis=1) - 0.5
    valid = np.arange(K)[None, :] < rng.integers(K // 2, K + 1, n)[:, None]
    turn = np.zeros((n, K - 1))
    geom = PathGeometry(points, tangent, along, valid, turn)
    return graph, geom, path, pos, rng.random((n, n + 16)) < 0.1


def _obstacles(graph_pos: np.ndarray, n_fleet: int, seed: int) -> obstacles.Obstacles:
    rng = np.random.default_rng(seed + 100)
    m = n_fleet + 16
    at = graph_pos[rng.integers(0, len(graph_pos), m)] + rng.normal(0.0, 0.8, (m, 2))
    return obstacles.Obstacles(
        ids=np.arange(m, dtype=np.int64) + 10,
        xy=at,
        yaw_rad=rng.uniform(-np.pi, np.pi, m),
        front_m=rng.uniform(0.3, 2.5, m),
        rear_m=rng.uniform(0.3, 2.5, m),
        half_width_m=rng.uniform(0.3, 1.1, m),
        velocity=rng.normal(0.0, 5.0, (m, 2)),
        walker=rng.random(m) < 0.2,
    )


def _brute_force(
    graph_pos: np.ndarray,
    geom: PathGeometry,
    path: np.ndarray,
    half_width: np.ndarray,
    own: np.ndarray,
    obs: obstacles.Obstacles,
    ignore: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    pts, owner, reach = obstacles._points(obs)
    n = len(path)
    along, which = np.full(n, np.inf), np.full(n, -1)
    for r in range(n):
        for k in range(path.shape[1]):
            if not geom.valid[r, k]:
                continue
            sample_xy = graph_pos[path[r, k]]
            for p in range(len(pts)):
                j = owner[p]
                if j == own[r] or ignore[r, j]:
                    continue
                if np.hypot(*(sample_xy - pts[p])) > reach[p]:
                    continue
                rel = pts[p] - geom.points[r, k]
                t = geom.tangent[r, k]
                dist = geom.along[r, k] + rel @ t
                lat = abs(rel[1] * t[0] - rel[0] * t[1])
                limit = obs.half_width_m[j] + half_width[r] + obstacles.CLEARANCE_M
                if dist > 0.0 and lat < limit and dist < along[r]:
                    along[r], which[r] = dist, j
    return along, which


@pytest.mark.parametrize("seed", range(6))
def test_find_ahead_matches_brute_force(seed: int) -> None:
    graph, geom, path, pos, ignore = _scene(seed)
    n = len(path)
    obs = _obstacles(pos, n, seed)
    own = np.where(np.arange(n) % 3 == 0, -1, np.arange(n))  # some rows are not obstacles
    half_width = np.full(n, 0.9)
    got = obstacles.find_ahead(graph, geom, path, half_width, own, obs, ignore)  # type: ignore[arg-type]
    want_along, want_which = _brute_force(pos, geom, path, half_width, own, obs, ignore)
    assert np.isfinite(want_along).sum() >= n // 2  # the scene really has leaders to find
    np.testing.assert_allclose(got.along_m, want_along)
    np.testing.assert_array_equal(got.obstacle, want_which)
    found = want_which >= 0
    rows = np.flatnonzero(found)
    assert np.all(got.speed[~found] == 0.0)
    assert np.all(np.abs(got.speed[rows]) <= np.hypot(*obs.velocity[want_which[rows]].T) + 1e-9)
