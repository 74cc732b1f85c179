"""`find_contacts` (compiled broad + narrow phase) against a brute-force scalar reference.

The reference tries every pair with the scalar box test the spawn check uses
(`_box`, `_separating_depth` with no tolerance): same pairs, same order, same impulses.
"""

from __future__ import annotations

import random

import pytest

from runner.sim.world import collisions
from runner.sim.world.actors import Actor, kind_of
from runner.sim.world.collisions import Contact, find_contacts
from runner.sim.world.geometry import BoundingBox, Transform

TYPES = ("vehicle.tesla.model3", "vehicle.carlamotors.carlacola", "walker.pedestrian.0001")


def reference(actors: list[Actor]) -> list[Contact]:
    """Every pair i < j of solid actors, in index order, by the scalar test."""
    solid = [a for a in actors if a.kind in collisions.SOLID_KINDS and a.collisions_enabled]
    boxes = [collisions._box(a.transform, a.bounding_box) for a in solid]
    found = []
    for i, a in enumerate(solid):
        for j in range(i + 1, len(solid)):
            b = solid[j]
            normal = collisions._separating_depth(boxes[i], boxes[j], 0.0)
            if normal is None or a.parent_id == b.id or b.parent_id == a.id:
                continue
            first, second = (a, b) if a.id < b.id else (b, a)
            ax, ay = normal if first is a else (-normal[0], -normal[1])
            found.append(Contact(first.id, second.id, collisions._impulse(first, second, (ax, ay))))
    return found


def scene(rng: random.Random, count: int, span_m: float) -> list[Actor]:
    """Random rotated boxes of several sizes, heights and speeds; some attached or ghosts."""
    actors: list[Actor] = []
    for k in range(count):
        extent = (rng.uniform(0.2, 3.0), rng.uniform(0.2, 1.5), rng.uniform(0.3, 1.5))
        centre = (rng.uniform(-0.5, 0.5), rng.uniform(-0.3, 0.3), extent[2])
        type_id = rng.choice(TYPES)
        pose = Transform(
            rng.uniform(0.0, span_m),
            rng.uniform(0.0, span_m),
            rng.choice((0.0, rng.uniform(0.0, 3.0))),
            0.0,
            rng.uniform(-180.0, 180.0),
            0.0,
        )
        a = Actor(k + 1, type_id, kind_of(type_id), {}, pose, BoundingBox(centre, extent))
        a.velocity = (rng.uniform(-10.0, 10.0), rng.uniform(-10.0, 10.0), 0.0)
        a.collisions_enabled = rng.random() > 0.05
        if k and rng.random() < 0.05:
            a.parent_id = actors[rng.randrange(k)].id
        actors.append(a)
    rng.shuffle(actors)  # ids out of index order: the pair's first actor is the lower id
    return actors


def assert_same(got: list[Contact], want: list[Contact]) -> None:
    assert [(c.actor_id, c.other_id) for c in got] == [(c.actor_id, c.other_id) for c in want]
    for g, w in zip(got, want, strict=True):
        assert g.normal_impulse == pytest.approx(w.normal_impulse, abs=1e-9)


@pytest.mark.parametrize(("count", "span_m"), [(2, 3.0), (5, 5.0), (40, 20.0), (200, 150.0)])
def test_random_scenes_match_the_scalar_reference(count: int, span_m: float) -> None:
    rng = random.Random(count)
    touching = 0
    for _ in range(60):
        actors = scene(rng, count, span_m)
        want = reference(actors)
        touching += len(want)
        assert_same(find_contacts(actors), want)
    assert touching > 0  # the scenes do overlap


def test_a_pile_beyond_the_first_guess_of_room_is_complete() -> None:
    """30 boxes on one spot touch in hundreds of pairs, more than 4 per box first allotted."""
    actors = scene(random.Random(7), 30, 0.5)
    for a in actors:
        a.collisions_enabled = True
        a.parent_id = 0
    want = reference(actors)
    assert len(want) > 4 * 30
    assert_same(find_contacts(actors), want)


def test_a_changed_bounding_box_is_seen_next_step() -> None:
    """Box arrays are reused while the same BoundingBox objects come back, not longer."""
    box = BoundingBox((0.0, 0.0, 0.75), (2.0, 1.0, 0.75))
    a = Actor(1, TYPES[0], kind_of(TYPES[0]), {}, Transform(0.0, 0.0), box)
    b = Actor(2, TYPES[0], kind_of(TYPES[0]), {}, Transform(5.0, 0.0), box)
    assert find_contacts([a, b]) == []
    b.bounding_box = BoundingBox((0.0, 0.0, 0.75), (3.0, 1.0, 0.75))
    assert [(c.actor_id, c.other_id) for c in find_contacts([a, b])] == [(1, 2)]
    b.bounding_box = box
    assert find_contacts([a, b]) == []


def test_fewer_than_two_solid_actors_touch_nothing() -> None:
    a = Actor(1, TYPES[0], kind_of(TYPES[0]), {}, Transform(), BoundingBox((0, 0, 0), (1, 1, 1)))
    assert find_contacts([]) == []
    assert find_contacts([a]) == []
