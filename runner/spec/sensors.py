"""A named sensor of the rig; its attributes are checked against its CARLA blueprint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from runner.catalog import SENSOR_BLUEPRINTS
from runner.pose import Pose
from runner.validation import AttributeValue, StrictModel, attribute_issues, raise_issues

SensorType = Literal[
    "rgb",
    "depth",
    "semantic_segmentation",
    "instance_segmentation",
    "lidar",
    "collision",
    "gnss",
    "imu",
]
CAMERA_TYPES = ("rgb", "depth", "semantic_segmentation", "instance_segmentation")


class SensorSpec(StrictModel):
    """One named sensor; its attributes are checked against its CARLA blueprint."""

    type: SensorType = Field(description="sensor kind; the blueprint is sensor.camera.<type> etc.")
    attach_to: str = Field(default="ego", description="'ego', 'world' or the name of a prop")
    transform: Pose = Field(default_factory=Pose, description="pose relative to parent")
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="blueprint attributes, e.g. image_size_x: 1280"
    )
    capture_every: int = Field(default=1, ge=1, description="keep this sensor's data every N ticks")

    @property
    def blueprint(self) -> str:
        """The CARLA blueprint id of this sensor type."""
        return SENSOR_BLUEPRINTS[self.type]

    @model_validator(mode="after")
    def _attributes_fit(self) -> SensorSpec:
        raise_issues(attribute_issues(self.blueprint, self.attributes))
        return self
