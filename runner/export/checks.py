"""Cross-checks of `export:` against the scenario's sensors, and the sensors it adds.

`export_issues(scenario)` returns located issues (loc from the scenario root, as
runner.validation's Issue), so `runner.load` points each at file:line:col: sensors
exist and have the right type; the COCO camera's instance-segmentation twin is on
the same parent, pose, size and fov (a mismatch names both sensors), or
`implicit_instance_camera: true` lets the runner add it (`runner.compile`), or a
semantic twin gives the connected-components fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from runner.export.targets import CAMERA_TYPES, CONVERTER_SENSORS, CocoTarget, ExportSpec
from runner.suggest import did_you_mean
from runner.validation import Issue, Loc

if TYPE_CHECKING:
    from runner.spec.sensors import SensorSpec


class SensorInfo(NamedTuple):
    """What the export needs to know of a sensor (from a SensorSpec, or the plan)."""

    type: str
    attach_to: str
    pose: tuple[float, float, float, float, float, float]
    width: int
    height: int
    fov_deg: float
    capture_every: int
    sensor_tick_s: float


def sensor_info(spec: SensorSpec) -> SensorInfo:
    """The export view of a scenario sensor (CARLA defaults for missing attributes)."""
    attrs = spec.attributes
    p = spec.transform
    return SensorInfo(
        type=spec.type,
        attach_to=spec.attach_to,
        pose=(p.x, p.y, p.z, p.pitch, p.yaw, p.roll),
        width=int(attrs.get("image_size_x", 800)),
        height=int(attrs.get("image_size_y", 600)),
        fov_deg=float(attrs.get("fov", 90.0)),
        capture_every=spec.capture_every,
        sensor_tick_s=float(attrs.get("sensor_tick", 0.0)),
    )


def twin_mismatch(camera: SensorInfo, other: SensorInfo) -> list[str]:
    """What differs between two cameras that must see the same pixels (empty: twins)."""
    checks = (
        ("parent", camera.attach_to, other.attach_to),
        ("pose", camera.pose, other.pose),
        ("size", (camera.width, camera.height), (other.width, other.height)),
        ("fov", camera.fov_deg, other.fov_deg),
        ("capture_every", camera.capture_every, other.capture_every),
        ("sensor_tick", camera.sensor_tick_s, other.sensor_tick_s),
    )
    return [f"{what} {a} vs {b}" for what, a, b in checks if a != b]


class CocoSources(NamedTuple):
    """Where the COCO camera's labels come from: an instance twin, or semantic fallback."""

    camera: str
    instance: str | None
    semantic: str | None
    implicit: bool


def implicit_instance_name(camera: str) -> str:
    return f"{camera}_instance"


def coco_sources(coco: CocoTarget, sensors: Mapping[str, SensorInfo]) -> CocoSources:
    """The twin used for annotations (explicit, found, implicit, or semantic fallback)."""
    camera = sensors[coco.camera]
    if camera.type == "instance_segmentation":
        return CocoSources(coco.camera, coco.camera, None, False)
    if coco.instance_camera is not None:
        return CocoSources(coco.camera, coco.instance_camera, None, False)
    twins = _twins(coco.camera, sensors, "instance_segmentation")
    if twins:
        return CocoSources(coco.camera, twins[0], None, False)
    if coco.implicit_instance_camera:
        return CocoSources(coco.camera, implicit_instance_name(coco.camera), None, True)
    semantic = _twins(coco.camera, sensors, "semantic_segmentation")
    return CocoSources(coco.camera, None, semantic[0] if semantic else None, False)


def _twins(name: str, sensors: Mapping[str, SensorInfo], kind: str) -> list[str]:
    camera = sensors[name]
    return [
        other
        for other, info in sensors.items()
        if info.type == kind and other != name and not twin_mismatch(camera, info)
    ]


def export_issues(scenario: Any) -> list[Issue]:
    """Cross-checks of `export:` against the scenario's sensors; locs are from the root."""
    export: ExportSpec = scenario.export
    infos = {name: sensor_info(spec) for name, spec in scenario.sensors.items()}
    issues = _image_issues(export, infos)
    issues += _kind_issues(export.lidar, ("export", "lidar"), infos, ("lidar",))
    kinds = ("gnss", "imu", "collision")
    for i, name in enumerate(export.measurements):
        issues += _kind_issues({name: None}, ("export", "measurements", i), infos, kinds, False)
    if export.coco is not None:
        issues += _coco_issues(export.coco, infos)
    return issues


def _missing(name: str, loc: Loc, infos: Mapping[str, SensorInfo], at_key: bool) -> Issue:
    return (loc, f"no sensor named {name!r}", did_you_mean(name, infos), at_key)


def _image_issues(export: ExportSpec, infos: Mapping[str, SensorInfo]) -> list[Issue]:
    issues: list[Issue] = []
    for name, targets in export.images.items():
        loc: Loc = ("export", "images", name)
        sensor = infos.get(name)
        if sensor is None:
            issues.append(_missing(name, loc, infos, True))
            continue
        if sensor.type not in CAMERA_TYPES:
            issues.append((loc, f"sensor {name!r} is a {sensor.type}, not a camera", None, True))
            continue
        folders = [t.converter for t in targets]
        if len(set(folders)) != len(folders):
            issues.append((loc, f"a converter is listed twice for {name!r}", None, False))
        for i, target in enumerate(targets):
            sub = loc if len(targets) == 1 else (*loc, i)
            if sensor.type not in CONVERTER_SENSORS[target.converter]:
                allowed = ", ".join(CONVERTER_SENSORS[target.converter])
                message = (
                    f"converter {target.converter!r} needs a {allowed} camera;"
                    f" {name!r} is {sensor.type}"
                )
                issues.append((sub, message, None, False))
            elif target.format == "jpeg" and sensor.type != "rgb":
                message = f"jpeg is for RGB cameras; {name!r} is {sensor.type} (lossy labels)"
                issues.append((sub, message, None, False))
    return issues


def _kind_issues(
    names: Mapping[str, Any],
    loc: Loc,
    infos: Mapping[str, SensorInfo],
    kinds: tuple[str, ...],
    keyed: bool = True,
) -> list[Issue]:
    issues: list[Issue] = []
    for name in names:
        sub = (*loc, name) if keyed else loc
        sensor = infos.get(name)
        if sensor is None:
            issues.append(_missing(name, sub, infos, keyed))
        elif sensor.type not in kinds:
            message = f"sensor {name!r} is a {sensor.type}; expected {' or '.join(kinds)}"
            issues.append((sub, message, None, keyed))
    return issues


def _coco_issues(coco: CocoTarget, infos: Mapping[str, SensorInfo]) -> list[Issue]:
    loc: Loc = ("export", "coco")
    camera = infos.get(coco.camera)
    if camera is None:
        return [_missing(coco.camera, (*loc, "camera"), infos, False)]
    if camera.type not in CAMERA_TYPES:
        message = f"coco.camera {coco.camera!r} is a {camera.type}, not a camera"
        return [((*loc, "camera"), message, None, False)]
    if coco.instance_camera is not None:
        return _explicit_twin_issues(coco, infos, camera)
    sources = coco_sources(coco, infos)
    if sources.implicit:
        name = implicit_instance_name(coco.camera)
        if name in infos:
            message = f"implicit instance camera name {name!r} is taken by another sensor"
            return [((*loc, "implicit_instance_camera"), message, None, True)]
        return []
    if sources.instance is not None or sources.semantic is not None:
        return []
    return [((*loc, "camera"), _no_twin_message(coco.camera, camera, infos), None, False)]


def _explicit_twin_issues(
    coco: CocoTarget, infos: Mapping[str, SensorInfo], camera: SensorInfo
) -> list[Issue]:
    name = str(coco.instance_camera)
    sub: Loc = ("export", "coco", "instance_camera")
    twin = infos.get(name)
    if twin is None:
        return [_missing(name, sub, infos, False)]
    if twin.type != "instance_segmentation":
        return [(sub, f"sensor {name!r} is a {twin.type}, not instance_segmentation", None, False)]
    differences = twin_mismatch(camera, twin)
    if differences:
        message = f"instance camera {name!r} does not see what {coco.camera!r} sees: " + "; ".join(
            differences
        )
        return [(sub, message, None, False)]
    return []


def _no_twin_message(name: str, camera: SensorInfo, infos: Mapping[str, SensorInfo]) -> str:
    others = [n for n, i in infos.items() if i.type == "instance_segmentation"]
    if others:
        differences = "; ".join(twin_mismatch(camera, infos[others[0]]))
        return (
            f"coco camera {name!r} and instance camera {others[0]!r} differ ({differences});"
            " give them the same parent, pose, size and fov, or set"
            " implicit_instance_camera: true"
        )
    return (
        f"coco needs an instance_segmentation camera on the same parent, pose, size and fov"
        f" as {name!r} (or a semantic_segmentation one, for connected components); add one"
        " or set implicit_instance_camera: true"
    )
