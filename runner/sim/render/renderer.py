"""The camera renderer: one geometry pass per camera pose, three render targets.

Cameras that share a pose, size and field of view (the usual RGB + depth +
semantic rig) cost a single pass: colour, tag + instance id and depth code are
written together (multiple render targets) and read back with glReadPixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import moderngl
import numpy as np
from numpy.typing import NDArray

from runner.sim.render import camera, dynamic, shapes
from runner.sim.render.context import create_context
from runner.sim.render.culling import visible_ranges
from runner.sim.render.meshes import MeshBuilder
from runner.sim.render.scene import StaticScene, TiledMesh, scene_for
from runner.sim.render.weather import Lighting, lighting
from runner.sim.world.actors import Actor
from runner.sim.world.geometry import Transform

OUTPUTS = frozenset({"rgb", "depth", "semantic", "instance"})
_VERTEX_FORMAT = (
    "3f 3f 3f 1f 1f 1f",
    "in_pos",
    "in_normal",
    "in_color",
    "in_tag",
    "in_paint",
    "in_object",
)
# unit shapes skip the static object id: instances carry the actor id
_SHAPE_FORMAT = ("3f 3f 3f 1f 1f 4x", "in_pos", "in_normal", "in_color", "in_tag", "in_paint")
_INSTANCE_FORMAT = ("16f 3f 3f/i", "i_model", "i_color", "i_tag_id_state")
_MAX_INSTANCES = 4096
Image = NDArray[np.uint8]


@dataclass(frozen=True)
class CameraRequest:
    transform: Transform
    width: int
    height: int
    fov_deg: float
    outputs: frozenset[str]  # subset of OUTPUTS
    exclude_actor_id: int = 0  # 0: draw every actor (CARLA draws the ego too)


@dataclass
class CameraImages:
    """(H, W, 4) uint8 BGRA arrays in CARLA's encodings; None where not requested."""

    rgb: Image | None = None
    depth: Image | None = None
    semantic: Image | None = None
    instance: Image | None = None


def _shader(name: str) -> str:
    return resources.files("runner.sim.render").joinpath("shaders", name).read_text()


def _set(prog: moderngl.Program, name: str, value: Any) -> None:
    """Set a uniform if the driver kept it (unused ones are optimised away)."""
    if name in prog:
        prog[name].value = value  # type: ignore[union-attr]


class _Targets:
    """The framebuffer of one image size: colour, label and depth-code attachments."""

    def __init__(self, ctx: moderngl.Context, width: int, height: int) -> None:
        size = (width, height)
        self.size = size
        self.color = ctx.texture(size, 4, dtype="f1")
        self.label = ctx.texture(size, 4, dtype="u1")
        self.depth_code = ctx.texture(size, 4, dtype="u1")
        self.zbuffer = ctx.depth_renderbuffer(size)
        self.fbo = ctx.framebuffer([self.color, self.label, self.depth_code], self.zbuffer)

    def read(self, attachment: int) -> Image:
        w, h = self.size
        out = np.empty((h, w, 4), dtype=np.uint8)
        dtype = "f1" if attachment == 0 else "u1"
        self.fbo.read_into(out, components=4, attachment=attachment, dtype=dtype)
        return out


class Renderer:
    """Draws a map's static scene and the actors of a frame for a set of cameras."""

    def __init__(
        self,
        carla_map: Any,
        map_name: str,
        ctx: moderngl.Context | None = None,
        gl_backend: str = "egl",
        scene_key: str | None = None,
    ) -> None:
        self.ctx = ctx or create_context(gl_backend)
        frag = _shader("scene_frag.glsl")
        self._static = self.ctx.program(
            vertex_shader=_shader("static_vert.glsl"), fragment_shader=frag
        )
        self._inst = self.ctx.program(
            vertex_shader=_shader("instanced_vert.glsl"), fragment_shader=frag
        )
        self._sky = self.ctx.program(
            vertex_shader=_shader("sky_vert.glsl"), fragment_shader=_shader("sky_frag.glsl")
        )
        self._sky_vao = self.ctx.vertex_array(self._sky, [])
        self._scene_gl: list[moderngl.Buffer | moderngl.VertexArray] = []
        self.load_scene(carla_map, map_name, scene_key)
        self._shapes = {name: self._shape_vao(mesh) for name, mesh in _unit_shapes().items()}
        self._targets: dict[tuple[int, int], _Targets] = {}

    def load_scene(self, carla_map: Any, map_name: str, scene_key: str | None = None) -> None:
        """Draw another map from now on, in the same context with the same programs.

        A map change swaps only the static scene's buffers: creating a GL context (and
        compiling its shaders) per map leaks native memory in Mesa's llvmpipe, about
        8 MB per switch, which a long-lived server cannot afford.
        """
        old, self._scene_gl = self._scene_gl, []
        scene = scene_for(carla_map, map_name, scene_key)
        world, lights = self._static_vao(scene.world), self._static_vao(scene.traffic_lights)
        self.scene: StaticScene = scene  # built first: a failed load keeps the old scene
        self._world, self._lights = world, lights
        for obj in old:
            obj.release()

    def _static_vao(self, mesh: TiledMesh) -> tuple[TiledMesh, moderngl.VertexArray | None]:
        if len(mesh.vertices) == 0:
            return mesh, None
        vbo = self.ctx.buffer(mesh.vertices.tobytes())
        vao = self.ctx.vertex_array(self._static, [(vbo, *_VERTEX_FORMAT)])
        self._scene_gl += [vao, vbo]
        return mesh, vao

    def _shape_vao(self, mesh: MeshBuilder) -> tuple[moderngl.Buffer, moderngl.VertexArray]:
        vbo = self.ctx.buffer(mesh.vertices().tobytes())
        ibo = self.ctx.buffer(reserve=_MAX_INSTANCES * dynamic.INSTANCE_FLOATS * 4, dynamic=True)
        vao = self.ctx.vertex_array(self._inst, [(vbo, *_SHAPE_FORMAT), (ibo, *_INSTANCE_FORMAT)])
        return ibo, vao

    def render(
        self,
        requests: Sequence[CameraRequest],
        actors: Sequence[Actor],
        weather: Mapping[str, float],
    ) -> list[CameraImages]:
        """Images for each request; requests with the same pose share one pass."""
        light = lighting(weather)
        passes: dict[tuple[Any, ...], dict[int, Image]] = {}
        out = []
        for req in requests:
            key = (req.transform, req.width, req.height, req.fov_deg, req.exclude_actor_id)
            if key not in passes:
                self.draw(req, actors, light)
                passes[key] = {}
            out.append(self._collect(req, passes[key]))
        return out

    def _collect(self, req: CameraRequest, cache: dict[int, Image]) -> CameraImages:
        targets = self._targets[(req.width, req.height)]
        for attachment, name in ((0, "rgb"), (1, "instance"), (2, "depth")):
            wanted = name in req.outputs or (attachment == 1 and "semantic" in req.outputs)
            if wanted and attachment not in cache:
                cache[attachment] = targets.read(attachment)
        images = CameraImages()
        if "rgb" in req.outputs:
            images.rgb = cache[0]
        if "depth" in req.outputs:
            images.depth = cache[2]
        if "instance" in req.outputs:
            images.instance = cache[1]
        if "semantic" in req.outputs:  # the instance image with G and B (the id) cleared
            tags_only = cache[1].view(np.uint32) & np.uint32(0xFFFF0000)
            images.semantic = tags_only.view(np.uint8).reshape(cache[1].shape)
        return images

    def depth_and_tags(
        self, req: CameraRequest, actors: Sequence[Actor], max_distance_m: float
    ) -> tuple[NDArray[np.float64], NDArray[np.uint8]]:
        """Planar depth [m] and tags of one unshaded pass, scene cut at a sensor's range."""
        self.draw(req, actors, lighting({}), shade=False, max_distance_m=max_distance_m)
        targets = self._targets[(req.width, req.height)]
        return camera.decode_depth_m(targets.read(2)), targets.read(1)[..., 2]

    def draw(
        self,
        req: CameraRequest,
        actors: Sequence[Actor],
        light: Lighting,
        shade: bool = True,
        max_distance_m: float = camera.FAR_M,
    ) -> None:
        """Run the geometry pass of one camera into the framebuffer of its size."""
        size = (req.width, req.height)
        if size not in self._targets:
            self._targets[size] = _Targets(self.ctx, *size)
        targets = self._targets[size]
        targets.fbo.use()
        self.ctx.viewport = (0, 0, *size)
        self.ctx.clear(depth=1.0)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.disable(moderngl.CULL_FACE)
        pinhole = camera.Pinhole(req.width, req.height, req.fov_deg)
        self._set_uniforms(req.transform, pinhole, light)
        for prog in (self._static, self._inst):
            _set(prog, "u_shade", 1.0 if shade else 0.0)
        rows = dynamic.instance_rows(actors, req.exclude_actor_id)
        for name, data in rows.items():  # actors first: they hide the most road
            ibo, vao = self._shapes[name]
            data = data[:_MAX_INSTANCES]
            ibo.write(data.tobytes())
            vao.render(moderngl.TRIANGLES, instances=len(data))
        self._draw_static(self._world, req.transform, pinhole, max_distance_m)
        if "traffic_light" not in rows:
            self._draw_static(self._lights, req.transform, pinhole, max_distance_m)
        self._draw_sky(req.transform, pinhole, light)

    def _draw_sky(self, pose: Transform, pinhole: camera.Pinhole, light: Lighting) -> None:
        """Last, at the far plane: only pixels that no geometry covered are shaded."""
        self.ctx.depth_func = "<="
        rot = pose.rotation_matrix()
        prog = self._sky
        _set(prog, "u_fwd", tuple(rot[:, 0]))
        _set(prog, "u_right", tuple(rot[:, 1]))
        _set(prog, "u_up", tuple(rot[:, 2]))
        _set(prog, "u_pix", (pinhole.width / 2, pinhole.height / 2, pinhole.focal_px))
        _set(prog, "u_sun_dir", light.sun_dir)
        _set(prog, "u_sun_rgb", light.sun_rgb)
        _set(prog, "u_zenith_rgb", light.sky_zenith_rgb)
        _set(prog, "u_horizon_rgb", light.sky_horizon_rgb)
        _set(prog, "u_fog_rgb", light.fog_rgb)
        _set(prog, "u_surface", (light.wetness, light.puddles, light.night, light.exposure))
        _set(prog, "u_haze", min(1.0, light.fog_per_m * 150.0))
        self._sky_vao.render(moderngl.TRIANGLES, vertices=3)
        self.ctx.depth_func = "<"

    def _set_uniforms(self, pose: Transform, pinhole: camera.Pinhole, light: Lighting) -> None:
        view = camera.world_to_camera(pose).T.astype(np.float32).tobytes()
        for prog in (self._static, self._inst):
            prog["u_view"].write(view)  # type: ignore[union-attr]
            _set(prog, "u_proj", pinhole.clip_uniform())
            _set(prog, "u_cam_pos", pose.location)
            _set(prog, "u_sun_dir", light.sun_dir)
            _set(prog, "u_sun_rgb", light.sun_rgb)
            _set(prog, "u_ambient_rgb", light.ambient_rgb)
            _set(prog, "u_sky_rgb", light.sky_horizon_rgb)
            _set(prog, "u_fog_rgb", light.fog_rgb)
            _set(prog, "u_fog", (light.fog_per_m, light.fog_start_m, light.fog_falloff))
            _set(prog, "u_surface", (light.wetness, light.puddles, light.night, light.exposure))
        _set(self._static, "u_state", -1.0)

    def _draw_static(
        self,
        group: tuple[TiledMesh, moderngl.VertexArray | None],
        pose: Transform,
        pinhole: camera.Pinhole,
        max_distance_m: float,
    ) -> None:
        mesh, vao = group
        if vao is None:
            return
        for first, count in visible_ranges(mesh, pose, pinhole, max_distance_m):
            vao.render(moderngl.TRIANGLES, vertices=count, first=first)


def _unit_shapes() -> dict[str, MeshBuilder]:
    return {
        "car": shapes.car(),
        "walker": shapes.walker(),
        "prop": shapes.prop_box(),
        "fountain": shapes.fountain(),
        "traffic_light": shapes.traffic_light(),
    }
