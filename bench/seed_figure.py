"""The seed tutorial's figure: RGB, CityScapes semantic and logarithmic depth, side by side.

Renders a Town03 street with traffic through the embedded renderer and applies
CARLA's own converters (carla-sensors.md section 4) to the raw BGRA buffers, so the
panels match what `image.convert(carla.ColorConverter.X)` gives through the client.
Usage: python bench/seed_figure.py [--out docs/seed_figure.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import carla
import numpy as np
from numpy.typing import NDArray
from PIL import Image
from render_scene_only import MAPS, street_rig

from runner.sim.render.camera import DEPTH_CODES
from runner.sim.render.labels import cityscapes_bgra
from runner.sim.render.renderer import CameraRequest, Renderer
from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.geometry import BoundingBox, Transform

TUTORIAL_WEATHER = {"cloudiness": 20.0, "precipitation": 20.0, "sun_altitude_angle": 110.0}
WALKER_BOX = BoundingBox((0.0, 0.0, 0.0), (0.19, 0.19, 0.93))


def logarithmic_depth(bgra: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """carla.ColorConverter.LogarithmicDepth on a raw depth image."""
    b, g, r = (bgra[..., i].astype(np.float64) for i in range(3))
    normalized = (r + 256.0 * g + 65536.0 * b) / DEPTH_CODES
    with np.errstate(divide="ignore"):
        gray = np.clip(1.0 + np.log(normalized) / 5.70378, 0.005, 1.0)
    u8 = (gray * 255.0 + 0.5).astype(np.uint8)
    out = np.empty_like(bgra)
    out[..., 0] = out[..., 1] = out[..., 2] = u8
    out[..., 3] = 255
    return out


def pedestrians(cam: Transform, count: int) -> list[Actor]:
    """Walkers on the right-hand sidewalk ahead of the camera."""
    rot = cam.rotation_matrix()
    out = []
    for i in range(count):
        p = np.array(cam.location) + rot[:, 0] * (10.0 + 6.0 * i) + rot[:, 1] * (7.5 + i % 2)
        pose = Transform(float(p[0]), float(p[1]), 1.1, 0.0, cam.yaw + 90.0 * i, 0.0)
        out.append(Actor(900 + i, "walker.pedestrian.0001", ActorKind.WALKER, {}, pose, WALKER_BOX))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/seed_figure.png")
    ap.add_argument("--map", default="Town03")
    args = ap.parse_args()
    carla_map = carla.Map(args.map, (MAPS / f"{args.map}.xodr").read_text())
    renderer = Renderer(carla_map, args.map)
    cam, cars = street_rig(carla_map, 30)
    actors = cars + pedestrians(cam, 4)
    rig = frozenset({"rgb", "semantic", "depth"})
    images = renderer.render([CameraRequest(cam, 800, 600, 90.0, rig)], actors, TUTORIAL_WEATHER)
    shot = images[0]
    assert shot.rgb is not None and shot.semantic is not None and shot.depth is not None
    panels = [shot.rgb, cityscapes_bgra(shot.semantic[..., 2]), logarithmic_depth(shot.depth)]
    figure = np.concatenate([p[..., 2::-1] for p in panels], axis=1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(figure)).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
