"""The scenario's `export:` section: which files a run writes, validated offline.

    export:
      images:                          # per sensor: a converter, a mapping, or a list of them
        rgb: raw                       #   short form (PNG)
        rgb_small: {converter: raw, format: jpeg, quality: 90}
        depth: [logdepth, {converter: depth_m, format: npy}]
      coco:                            # exact per-object annotations of one camera
        camera: rgb
        implicit_instance_camera: true # the runner adds the instance twin itself
        classes: [car, pedestrian, {name: vehicle, tags: [truck, bus]}]
        min_visible_px: 16
        crowd: false
      yolo: true                       # the same annotations as Ultralytics labels
      lidar: {lidar_top: ply}
      measurements: [gnss, imu, crash]
      manifest: true                   # always on (manifest.json, frames.jsonl)

Checks that need the scenario's sensors live in runner.export.checks
(`export_issues`, `coco_sources`; the implicit sensors are added by `runner.compile`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from runner.export.tags import DEFAULT_CLASSES, TAG_NAMES, tag_id
from runner.suggest import did_you_mean
from runner.validation import Issue, StrictModel, raise_issues

Converter = Literal["raw", "cityscapes", "depth", "logdepth", "depth_m"]
ImageFormat = Literal["png", "jpeg", "npy"]
CAMERA_TYPES = ("rgb", "depth", "semantic_segmentation", "instance_segmentation")
CONVERTER_SENSORS: dict[str, tuple[str, ...]] = {
    "raw": CAMERA_TYPES,
    "cityscapes": ("semantic_segmentation", "instance_segmentation"),
    "depth": ("depth",),
    "logdepth": ("depth",),
    "depth_m": ("depth",),
}
_FORMATS: dict[str, tuple[str, ...]] = {
    "raw": ("png", "jpeg"),
    "cityscapes": ("png",),
    "depth": ("png",),
    "logdepth": ("png",),
    "depth_m": ("png", "npy"),
}
DEFAULT_JPEG_QUALITY = 90


def _converter_shorthand(value: Any) -> Any:
    """`rgb: raw` is short for `rgb: {converter: raw}`."""
    return {"converter": value} if isinstance(value, str) else value


class ImageTarget(StrictModel):
    """One image file per captured frame of a camera, through one converter."""

    converter: Converter = Field(
        description="raw | cityscapes | depth | logdepth (CARLA's converters) | depth_m (metres)"
    )
    format: ImageFormat = Field(
        default="png",
        description="png; jpeg for raw RGB; depth_m: png (uint16 millimetres) or npy (float32 m)",
    )
    quality: int | None = Field(default=None, ge=1, le=100, description="JPEG quality (1-100)")

    @model_validator(mode="after")
    def _format_fits(self) -> ImageTarget:
        issues: list[Issue] = []
        allowed = _FORMATS[self.converter]
        if self.format not in allowed:
            message = (
                f"converter {self.converter!r} writes {' or '.join(allowed)}, not {self.format}"
            )
            issues.append((("format",), message, None, False))
        if self.quality is not None and self.format != "jpeg":
            issues.append((("quality",), "quality applies to format: jpeg only", None, True))
        raise_issues(issues)
        return self

    @property
    def suffix(self) -> str:
        """File name suffix, with the dot."""
        return {"png": ".png", "jpeg": ".jpg", "npy": ".npy"}[self.format]

    @property
    def jpeg_quality(self) -> int:
        return self.quality or DEFAULT_JPEG_QUALITY


OneImage = Annotated[
    ImageTarget,
    BeforeValidator(_converter_shorthand, json_schema_input_type=Converter | ImageTarget),
]


def _one_or_many(value: Any) -> Any:
    return value if isinstance(value, list | tuple) else [value]


ImageTargets = Annotated[
    tuple[OneImage, ...],
    BeforeValidator(_one_or_many, json_schema_input_type=Converter | ImageTarget | list[Any]),
]


class ClassSpec(StrictModel):
    """One COCO category: a name and the CARLA 0.9.16 semantic tags it covers."""

    name: str = Field(description="category name written to COCO and YOLO")
    tags: tuple[str, ...] = Field(description="semantic tag names, e.g. car, truck, traffic sign")

    @field_validator("tags")
    @classmethod
    def _known_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        issues: list[Issue] = []
        for i, name in enumerate(tags):
            if tag_id(name) is None:
                hint = did_you_mean(name, TAG_NAMES)
                issues.append(((i,), f"unknown CARLA 0.9.16 semantic tag {name!r}", hint, False))
        if not tags:
            issues.append(((), "a class needs at least one tag", None, False))
        raise_issues(issues)
        return tags

    @property
    def tag_ids(self) -> tuple[int, ...]:
        return tuple(int(tag_id(name) or 0) for name in self.tags)


def _class_shorthand(value: Any) -> Any:
    """`car` is short for `{name: car, tags: [car]}`."""
    return {"name": value, "tags": [value]} if isinstance(value, str) else value


OneClass = Annotated[
    ClassSpec, BeforeValidator(_class_shorthand, json_schema_input_type=str | ClassSpec)
]


class CocoTarget(StrictModel):
    """COCO instance annotations of one camera, from its instance-segmentation twin."""

    camera: str = Field(
        description="the camera whose frames are annotated (its images are written)"
    )
    instance_camera: str | None = Field(
        default=None,
        description="its instance_segmentation twin (same parent, pose, size, fov); default: found",
    )
    implicit_instance_camera: bool = Field(
        default=False, description="let the runner add the twin when the scenario has none"
    )
    classes: tuple[OneClass, ...] = Field(
        default_factory=lambda: tuple(ClassSpec(name=n, tags=(n,)) for n in DEFAULT_CLASSES),
        description="categories by CARLA 0.9.16 semantic tag name (default: road users, signs)",
    )
    min_visible_px: int = Field(default=16, ge=1, description="smallest visible area annotated")
    crowd: bool = Field(
        default=False, description="also write iscrowd regions: class pixels without instance id"
    )
    checkpoint_every: int = Field(
        default=25, ge=1, description="rewrite coco.json every N annotated frames (and at close)"
    )

    @model_validator(mode="after")
    def _distinct(self) -> CocoTarget:
        issues: list[Issue] = []
        names: set[str] = set()
        tags: dict[int, str] = {}
        for i, spec in enumerate(self.classes):
            if spec.name in names:
                issues.append((("classes", i), f"class {spec.name!r} is listed twice", None, False))
            names.add(spec.name)
            for tag in spec.tag_ids:
                if tag in tags and tags[tag] != spec.name:
                    message = f"tag {TAG_NAMES[tag]!r} is in both {tags[tag]!r} and {spec.name!r}"
                    issues.append((("classes", i), message, None, False))
                tags[tag] = spec.name
        raise_issues(issues)
        return self


class WriterSpec(StrictModel):
    """The writer pool: worker threads and how many frames may wait for them."""

    workers: int | None = Field(default=None, ge=1, le=32, description="default: cores - 1 (>= 1)")
    queue_frames: int = Field(default=16, ge=1, le=1024, description="frames waiting at most")
    on_full: Literal["block", "drop"] = Field(
        default="block", description="block: the run waits (nothing lost); drop: count and skip"
    )


class ExportSpec(StrictModel):
    """What a run writes from the captured data; the manifest is always written."""

    images: dict[str, ImageTargets] = Field(
        default_factory=dict, description="camera name -> converter(s), e.g. rgb: raw"
    )
    coco: CocoTarget | None = Field(default=None, description="COCO annotations of one camera")
    yolo: bool = Field(default=False, description="the COCO annotations as YOLO labels + data.yaml")
    lidar: dict[str, Literal["ply", "npy"]] = Field(
        default_factory=dict, description="lidar name -> ply | npy, one file per frame"
    )
    measurements: tuple[str, ...] = Field(
        default=(), description="gnss, imu and collision sensors written as JSON lines"
    )
    manifest: Literal[True] = Field(
        default=True, description="manifest.json and frames.jsonl; always written"
    )
    writer: WriterSpec = Field(default_factory=WriterSpec, description="writer pool settings")

    @model_validator(mode="after")
    def _yolo_needs_coco(self) -> ExportSpec:
        if self.yolo and self.coco is None:
            message = "yolo labels are made from the coco annotations; add export.coco"
            raise_issues([(("yolo",), message, None, True)])
        return self
