"""Unit shapes for actors and street furniture, in the actor's local frame.

Actor shapes live in the unit cube [-1, 1]^3 and are scaled by the bounding box
extent, so every part stays inside the box CARLA reports. The traffic light is in
metres, origin at the foot of its pole, lamps facing local +y (yaw + 90 degrees).
"""

from __future__ import annotations

import numpy as np

from runner.sim.render import labels
from runner.sim.render.meshes import (
    F64,
    PAINT_INSTANCE,
    PAINT_LAMP_GREEN,
    PAINT_LAMP_RED,
    PAINT_LAMP_YELLOW,
    PAINT_VERTEX,
    MeshBuilder,
    unit_blob,
    unit_box,
    unit_cylinder,
)

TAG_FROM_INSTANCE = 0  # vertex tag 0 means "use the instance's tag"
WHITE = (1.0, 1.0, 1.0)


def box(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> F64:
    """Axis-aligned box between two corners."""
    lo_a, hi_a = np.array(lo), np.array(hi)
    return np.asarray(unit_box() * (hi_a - lo_a) / 2 + (hi_a + lo_a) / 2)


def cylinder(
    center: tuple[float, float], z0: float, z1: float, radius: float, top: float = 1.0
) -> F64:
    unit = unit_cylinder(10, top)
    return np.asarray(unit * [radius, radius, z1 - z0] + [center[0], center[1], z0])


def car() -> MeshBuilder:
    """Body, glasshouse, roof and four wheels; body and roof take the paint colour."""
    m = MeshBuilder()
    m.add(box((-1.0, -1.0, -0.72), (1.0, 1.0, 0.12)), WHITE, TAG_FROM_INSTANCE, PAINT_INSTANCE)
    m.add(box((-0.55, -0.86, 0.12), (0.38, 0.86, 0.84)), (0.04, 0.05, 0.06), TAG_FROM_INSTANCE)
    m.add(box((-0.57, -0.88, 0.84), (0.36, 0.88, 1.0)), WHITE, TAG_FROM_INSTANCE, PAINT_INSTANCE)
    for x in (-0.62, 0.62):
        for y in (-0.86, 0.86):
            m.add(box((x - 0.2, y - 0.14, -1.0), (x + 0.2, y + 0.14, -0.45)), (0.02,) * 3, 0)
    m.add(box((0.97, -0.8, -0.35), (1.0, 0.8, -0.1)), (0.8, 0.8, 0.7), TAG_FROM_INSTANCE)
    return m


def walker() -> MeshBuilder:
    """Legs, torso (instance colour) and a head."""
    m = MeshBuilder()
    m.add(box((-0.45, -0.6, -1.0), (0.45, 0.6, -0.05)), (0.08, 0.08, 0.12), TAG_FROM_INSTANCE)
    m.add(box((-0.6, -0.9, -0.05), (0.6, 0.9, 0.58)), WHITE, TAG_FROM_INSTANCE, PAINT_INSTANCE)
    head = unit_blob() * [0.9, 0.9, 0.2] + [0.0, 0.0, 0.8]
    m.add(head, (0.55, 0.40, 0.30), TAG_FROM_INSTANCE)
    return m


def prop_box() -> MeshBuilder:
    m = MeshBuilder()
    m.add(unit_box(), WHITE, TAG_FROM_INSTANCE, PAINT_INSTANCE)
    return m


def fountain() -> MeshBuilder:
    """Round basin with water, a column, an upper bowl and a spout."""
    stone, water = (0.55, 0.53, 0.50), (0.12, 0.22, 0.30)
    m = MeshBuilder()
    m.add(cylinder((0, 0), -1.0, -0.72, 1.0), stone, TAG_FROM_INSTANCE)
    m.add(cylinder((0, 0), -0.72, -0.70, 0.9), water, TAG_FROM_INSTANCE)
    m.add(cylinder((0, 0), -0.72, 0.3, 0.12), stone, TAG_FROM_INSTANCE)
    m.add(cylinder((0, 0), 0.2, 0.42, 0.2, top=2.2), stone, TAG_FROM_INSTANCE)
    m.add(cylinder((0, 0), 0.42, 1.0, 0.05), water, TAG_FROM_INSTANCE)
    return m


def traffic_light() -> MeshBuilder:
    """Post-mounted three-lamp light: pole (Poles), housing and lamps (TrafficLight)."""
    m = MeshBuilder()
    m.add(cylinder((0, 0), 0.0, 3.1, 0.09), labels.ALBEDO["pole"], labels.POLES)
    m.add(box((-0.2, -0.15, 3.1), (0.2, 0.15, 4.2)), labels.ALBEDO["housing"], labels.TRAFFIC_LIGHT)
    lamps = ((3.95, PAINT_LAMP_RED), (3.65, PAINT_LAMP_YELLOW), (3.35, PAINT_LAMP_GREEN))
    for z, paint in lamps:
        lamp = box((-0.12, 0.15, z - 0.12), (0.12, 0.19, z + 0.12))
        m.add(lamp, labels.ALBEDO["lamp_off"], labels.TRAFFIC_LIGHT, paint)
    return m


def traffic_sign() -> MeshBuilder:
    """A post with a plate facing local +y."""
    m = MeshBuilder()
    m.add(cylinder((0, 0), 0.0, 2.6, 0.05), labels.ALBEDO["pole"], labels.POLES)
    plate = cylinder((0, 0), 0.0, 0.05, 0.4)[:, :, [0, 2, 1]] + [0.0, 0.06, 2.6]
    m.add(plate, labels.ALBEDO["sign_red"], labels.TRAFFIC_SIGNS)
    face = cylinder((0, 0), 0.0, 0.02, 0.3)[:, :, [0, 2, 1]] + [0.0, 0.11, 2.6]
    m.add(face, labels.ALBEDO["sign"], labels.TRAFFIC_SIGNS, PAINT_VERTEX)
    return m


def street_lamp() -> MeshBuilder:
    """A 7 m pole with an arm reaching over the road (local -y) and a glowing head."""
    m = MeshBuilder()
    m.add(cylinder((0, 0), 0.0, 7.0, 0.1, top=0.6), labels.ALBEDO["pole"], labels.POLES)
    m.add(box((-0.05, -1.8, 6.85), (0.05, 0.0, 6.95)), labels.ALBEDO["pole"], labels.POLES)
    m.add(box((-0.18, -2.1, 6.75), (0.18, -1.5, 6.9)), labels.ALBEDO["pole"], labels.POLES)
    m.add(box((-0.15, -2.05, 6.72), (0.15, -1.55, 6.75)), (0.9, 0.85, 0.7), labels.POLES, 5.0)
    return m
