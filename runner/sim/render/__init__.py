"""Renderer of the embedded simulator: a static scene from the map, cameras and lidar.

OpenGL (moderngl) is imported only inside this package, and only by the modules that
draw (`context`, `renderer`); scene building is plain numpy so it can be tested alone.
"""
