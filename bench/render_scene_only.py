"""Milliseconds per camera pass (RGB + depth + semantic, one pose) in Town03 with traffic.

Prints the combined pass against a baseline measured in the same run: the same
three cameras rendered as three separate passes (what a naive renderer would do).
Usage: python bench/render_scene_only.py [--map Town03] [--cars 30] [--frames 20]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import carla

from runner.sim.render.context import describe
from runner.sim.render.renderer import CameraRequest, Renderer
from runner.sim.world.actors import Actor, ActorKind
from runner.sim.world.geometry import BoundingBox, Transform

MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
CAR_BOX = BoundingBox((0.0, 0.0, 0.75), (2.3, 1.0, 0.75))


def street_rig(carla_map: carla.Map, cars: int) -> tuple[Transform, list[Actor]]:
    """An ego pose on a long road and `cars` vehicles on the lanes ahead of it."""
    wps = [w for w in carla_map.generate_waypoints(4.0) if not w.is_junction]
    ego = wps[len(wps) // 3]
    t = ego.transform
    cam = Transform(t.location.x, t.location.y, t.location.z + 2.4, -6.0, t.rotation.yaw, 0.0)
    actors = []
    ahead = [w for d in range(8, 8 + 9 * cars, 9) for w in ego.next(float(d))[:1]]
    lanes = [ahead]
    for lane_getter in ("get_left_lane", "get_right_lane"):
        side = [getattr(w, lane_getter)() for w in ahead]
        lanes.append([w for w in side if w is not None and str(w.lane_type) == "Driving"])
    groups = itertools.zip_longest(*lanes)
    candidates = [w for group in groups for w in group if w is not None]
    for i, wp in enumerate(candidates[:cars]):
        p = wp.transform
        pose = Transform(p.location.x, p.location.y, p.location.z, 0.0, p.rotation.yaw, 0.0)
        color = f"{(i * 53) % 255},{(i * 97) % 255},{(i * 151) % 255}"
        actors.append(
            Actor(
                100 + i,
                "vehicle.tesla.model3",
                ActorKind.VEHICLE,
                {"color": (5, color)},
                pose,
                CAR_BOX,
                bytes([14]),
            )
        )
    return cam, actors


def time_ms(fn: object, frames: int) -> float:
    fn()  # type: ignore[operator]
    start = time.perf_counter()
    for _ in range(frames):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / frames * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--map", default="Town03")
    ap.add_argument("--cars", type=int, default=30)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--size", default="800x600")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    carla_map = carla.Map(args.map, (MAPS / f"{args.map}.xodr").read_text())
    start = time.perf_counter()
    renderer = Renderer(carla_map, args.map)
    build_s = time.perf_counter() - start
    cam, actors = street_rig(carla_map, args.cars)
    weather = {"cloudiness": 20.0, "precipitation": 20.0, "sun_altitude_angle": 110.0}
    rig = [
        CameraRequest(cam, w, h, 90.0, frozenset({name})) for name in ("rgb", "depth", "semantic")
    ]
    combined = time_ms(lambda: renderer.render(rig, actors, weather), args.frames)
    separate = time_ms(lambda: [renderer.render([r], actors, weather) for r in rig], args.frames)
    visible = (renderer.render(rig[2:], actors, weather)[0].semantic[..., 2] == 14).sum()
    print(f"device: {describe(renderer.ctx)}")
    tris = renderer.scene.world.triangle_count
    print(f"scene: {args.map}, {tris} triangles, built in {build_s:.2f} s")
    print(f"cars: {len(actors)}, car pixels: {visible}, image {w}x{h}")
    print(f"combined pass (rgb+depth+semantic): {combined:.1f} ms")
    print(
        f"three separate passes (baseline):   {separate:.1f} ms  ratio {separate / combined:.2f}x"
    )


if __name__ == "__main__":
    main()
