"""Headless OpenGL: an EGL context on the GPU where there is one, else Mesa's llvmpipe.

The backend comes from the server's settings (`CARLA_SIM_GL_BACKEND`: e.g. "x11" for
debugging); "egl" by default.
"""

from __future__ import annotations

from typing import Any

import moderngl

GL_VERSION = 330


def create_context(backend: str = "egl") -> moderngl.Context:
    """A standalone context; `backend` first (EGL: headless), then the platform default."""
    settings: Any = {"backend": backend}  # moderngl's stub mistypes **settings
    try:
        return moderngl.create_standalone_context(require=GL_VERSION, **settings)
    except Exception as egl_error:
        try:
            return moderngl.create_standalone_context(require=GL_VERSION)
        except Exception:
            raise RuntimeError(f"no OpenGL {GL_VERSION} context: {egl_error}") from egl_error


def describe(ctx: moderngl.Context) -> str:
    """'vendor / renderer / version' for logs and benchmark output."""
    info = ctx.info
    return f"{info['GL_VENDOR']} / {info['GL_RENDERER']} / {info['GL_VERSION']}"
