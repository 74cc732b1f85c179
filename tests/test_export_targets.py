"""The `export:` models and their cross-checks against the scenario's sensors (pure)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from pydantic import ValidationError

from runner.compile import implicit_sensors
from runner.export.checks import coco_sources, export_issues, sensor_info
from runner.export.targets import ExportSpec
from runner.spec.sensors import SensorSpec
from runner.validation import ISSUES_ERROR

CAM = {"transform": {"x": 1.5, "z": 2.4}}


def _scenario(export: dict[str, Any], **sensors: dict[str, Any]) -> SimpleNamespace:
    specs = {name: SensorSpec.model_validate(s) for name, s in sensors.items()}
    return SimpleNamespace(export=ExportSpec.model_validate(export), sensors=specs)


def _issues(error: ValidationError) -> list[tuple[Any, ...]]:
    found = []
    for e in error.errors():
        assert e["type"] == ISSUES_ERROR, e
        found += [(tuple(e["loc"]), *issue) for issue in e["ctx"]["issues"]]
    return found


def test_old_short_form_stays_valid() -> None:
    spec = ExportSpec.model_validate({"images": {"rgb": "raw", "depth": "logdepth"}})
    assert [t.converter for t in spec.images["rgb"]] == ["raw"]
    assert spec.images["depth"][0].format == "png" and spec.manifest is True


def test_forms_and_defaults() -> None:
    spec = ExportSpec.model_validate(
        {
            "images": {
                "rgb": {"converter": "raw", "format": "jpeg", "quality": 80},
                "depth": ["logdepth", {"converter": "depth_m", "format": "npy"}],
            },
            "coco": {
                "camera": "rgb",
                "classes": ["car", {"name": "big", "tags": ["Truck", "bus"]}],
            },
            "yolo": True,
        }
    )
    assert spec.images["rgb"][0].suffix == ".jpg" and spec.images["rgb"][0].jpeg_quality == 80
    assert [t.suffix for t in spec.images["depth"]] == [".png", ".npy"]
    assert spec.coco is not None and spec.coco.classes[1].tag_ids == (15, 16)
    default = ExportSpec.model_validate({"coco": {"camera": "rgb"}}).coco
    assert default is not None and len(default.classes) == 9


@pytest.mark.parametrize(
    ("export", "where", "words"),
    [
        ({"images": {"rgb": {"converter": "depth", "format": "jpeg"}}}, "format", "writes png"),
        ({"images": {"rgb": {"converter": "raw", "quality": 50}}}, "quality", "jpeg only"),
        ({"coco": {"camera": "rgb", "classes": ["car", "bycicle"]}}, 1, "unknown CARLA"),
        ({"coco": {"camera": "rgb", "classes": ["car", "car"]}}, 1, "listed twice"),
        ({"yolo": True}, "yolo", "coco annotations"),
        ({"manifest": False}, "manifest", "True"),
    ],
)
def test_model_errors_are_located(export: dict[str, Any], where: Any, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        ExportSpec.model_validate(export)
    text = str(info.value)
    assert words in text
    locs = [e["loc"] for e in info.value.errors()]
    flat = [part for loc in locs for part in loc]
    issue_locs = [
        part
        for e in info.value.errors()
        if e["type"] == ISSUES_ERROR
        for issue in e["ctx"]["issues"]
        for part in issue[0]
    ]
    assert where in flat + issue_locs


def test_unknown_tag_gets_a_hint() -> None:
    with pytest.raises(ValidationError) as info:
        ExportSpec.model_validate({"coco": {"camera": "rgb", "classes": ["pedestrain"]}})
    (issue,) = _issues(info.value)
    assert issue[3] == "did you mean 'pedestrian'?"


def test_images_need_cameras_of_the_right_type() -> None:
    scenario = _scenario(
        {
            "images": {
                "rgb": "depth",
                "gps": "raw",
                "nope": "raw",
                "sem": {"converter": "cityscapes"},
            }
        },
        rgb={"type": "rgb"},
        gps={"type": "gnss"},
        sem={"type": "semantic_segmentation"},
    )
    found = {loc: message for loc, message, _, _ in export_issues(scenario)}
    assert "needs a depth camera" in found[("export", "images", "rgb")]
    assert "not a camera" in found[("export", "images", "gps")]
    assert "no sensor named 'nope'" in found[("export", "images", "nope")]
    assert ("export", "images", "sem") not in found


def test_coco_twin_found_when_it_matches() -> None:
    scenario = _scenario(
        {"coco": {"camera": "rgb"}},
        rgb={"type": "rgb", **CAM},
        inst={"type": "instance_segmentation", **CAM},
    )
    assert export_issues(scenario) == []
    infos = {n: sensor_info(s) for n, s in scenario.sensors.items()}
    assert scenario.export.coco is not None
    assert coco_sources(scenario.export.coco, infos).instance == "inst"
    assert implicit_sensors(cast(Any, scenario)) == {}


def test_coco_twin_mismatch_names_both_sensors() -> None:
    scenario = _scenario(
        {"coco": {"camera": "rgb", "instance_camera": "inst"}},
        rgb={"type": "rgb", **CAM, "attributes": {"fov": 100}},
        inst={"type": "instance_segmentation", "transform": {"x": 1.0, "z": 2.4}},
    )
    ((loc, message, _, _),) = export_issues(scenario)
    assert loc == ("export", "coco", "instance_camera")
    assert "'inst'" in message and "'rgb'" in message and "pose" in message and "fov" in message


def test_coco_without_a_twin_is_an_error_unless_implicit() -> None:
    sensors = {"rgb": {"type": "rgb", **CAM, "attributes": {"image_size_x": 640}}}
    ((loc, message, _, _),) = export_issues(_scenario({"coco": {"camera": "rgb"}}, **sensors))
    assert loc == ("export", "coco", "camera") and "implicit_instance_camera" in message
    implicit = _scenario({"coco": {"camera": "rgb", "implicit_instance_camera": True}}, **sensors)
    assert export_issues(implicit) == []
    (twin,) = implicit_sensors(cast(Any, implicit)).values()
    assert twin.type == "instance_segmentation" and twin.transform.x == 1.5
    assert twin.attributes == {"image_size_x": 640}
    assert "rgb_instance" in implicit_sensors(cast(Any, implicit))


def test_semantic_twin_is_the_fallback() -> None:
    scenario = _scenario(
        {"coco": {"camera": "rgb"}},
        rgb={"type": "rgb", **CAM},
        sem={"type": "semantic_segmentation", **CAM},
    )
    assert export_issues(scenario) == []
    infos = {n: sensor_info(s) for n, s in scenario.sensors.items()}
    assert scenario.export.coco is not None
    sources = coco_sources(scenario.export.coco, infos)
    assert sources.instance is None and sources.semantic == "sem"


def test_lidar_and_measurements_check_sensor_kinds() -> None:
    scenario = _scenario(
        {"lidar": {"top": "ply", "rgb": "npy"}, "measurements": ["gps", "rgb"]},
        top={"type": "lidar"},
        gps={"type": "gnss"},
        rgb={"type": "rgb"},
    )
    locs = [loc for loc, _, _, _ in export_issues(scenario)]
    assert locs == [("export", "lidar", "rgb"), ("export", "measurements", 1)]
