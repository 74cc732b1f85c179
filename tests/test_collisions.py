"""Box contacts: overlap, touch, separation, rotation, and pair bookkeeping."""

from __future__ import annotations

from runner.sim.world.actors import Actor, ActorKind, kind_of
from runner.sim.world.collisions import box_overlaps, find_contacts
from runner.sim.world.geometry import BoundingBox, Transform

CAR_BOX = BoundingBox((0.0, 0.0, 0.75), (2.0, 1.0, 0.75))


def _actor(actor_id: int, x: float, y: float, yaw: float = 0.0, **kw: object) -> Actor:
    type_id = str(kw.pop("type_id", "vehicle.tesla.model3"))
    box = kw.pop("bbox", CAR_BOX)
    assert isinstance(box, BoundingBox)
    a = Actor(actor_id, type_id, kind_of(type_id), {}, Transform(x, y, 0.0, 0.0, yaw, 0.0), box)
    for name, value in kw.items():
        setattr(a, name, value)
    return a


def test_overlapping_boxes_touch_once() -> None:
    contacts = find_contacts([_actor(2, 0.0, 0.0), _actor(1, 3.0, 0.5)])
    assert [(c.actor_id, c.other_id) for c in contacts] == [(1, 2)]


def test_touching_boxes_count_and_separated_do_not() -> None:
    assert len(find_contacts([_actor(1, 0.0, 0.0), _actor(2, 4.0, 0.0)])) == 1
    assert find_contacts([_actor(1, 0.0, 0.0), _actor(2, 4.01, 0.0)]) == []
    assert find_contacts([_actor(1, 0.0, 0.0), _actor(2, 0.0, 2.01)]) == []


def test_rotated_box_uses_its_own_axes() -> None:
    # Circles overlap, axis-aligned boxes would too, but a 45° box clears the corner.
    a, b = _actor(1, 0.0, 0.0), _actor(2, 3.5, 2.5, yaw=45.0)
    assert find_contacts([a, b]) == []
    assert len(find_contacts([a, _actor(2, 2.6, 1.6, yaw=45.0)])) == 1


def test_z_separated_boxes_do_not_touch() -> None:
    high = _actor(2, 0.5, 0.0)
    high.transform = Transform(0.5, 0.0, 1.6)
    assert find_contacts([_actor(1, 0.0, 0.0), high]) == []


def test_each_pair_reported_once_among_many() -> None:
    actors = [_actor(i + 1, 1.0 * i, 0.0) for i in range(5)]
    pairs = [(c.actor_id, c.other_id) for c in find_contacts(actors)]
    assert len(pairs) == len(set(pairs))
    assert all(a < b for a, b in pairs)
    assert (1, 2) in pairs and (1, 5) in pairs and len(pairs) == 10


def test_ignored_actors() -> None:
    sensor = _actor(2, 0.0, 0.0, type_id="sensor.camera.rgb")
    light = _actor(3, 0.0, 0.0, type_id="traffic.traffic_light")
    ghost = _actor(4, 0.5, 0.0, collisions_enabled=False)
    child = _actor(5, 0.5, 0.0, type_id="static.prop.box01", parent_id=1)
    assert find_contacts([_actor(1, 0.0, 0.0), sensor, light, ghost, child]) == []
    assert sensor.kind == ActorKind.SENSOR


def test_impulse_points_from_the_other_actor_and_scales_with_speed() -> None:
    a = _actor(1, 0.0, 0.0, velocity=(10.0, 0.0, 0.0))
    b = _actor(2, 3.9, 0.0)
    (contact,) = find_contacts([a, b])
    impulse_x = contact.normal_impulse[0]
    assert impulse_x < 0.0  # a is pushed back
    assert 5000.0 < -impulse_x < 10000.0  # reduced mass 750 kg x 10 m/s


def test_spawn_check_ignores_tiny_penetration() -> None:
    parked = [_actor(1, 0.0, 0.0)]
    assert box_overlaps(Transform(3.0, 0.0), CAR_BOX, parked)
    assert not box_overlaps(Transform(3.99, 0.0), CAR_BOX, parked)
    assert not box_overlaps(Transform(10.0, 0.0), CAR_BOX, parked)
