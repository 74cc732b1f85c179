"""schemas/scenario.schema.json must match the models (regenerate: `make schemas`)."""

from __future__ import annotations

import json
from pathlib import Path

from runner.spec import schema_json

SCHEMA = Path(__file__).parent.parent / "schemas" / "scenario.schema.json"


def test_committed_schema_matches_the_models() -> None:
    assert SCHEMA.read_text() == schema_json(), "schema drifted: run `make schemas`"


def test_schema_forbids_unknown_keys_and_documents_fields() -> None:
    schema = json.loads(schema_json())
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["map"]
    world = schema["$defs"]["WorldSpec"]["properties"]["fixed_delta_seconds"]
    assert world["maximum"] == 0.1 and world["exclusiveMinimum"] == 0
    assert "description" in world


def test_weather_accepts_a_preset_name_or_a_mapping() -> None:
    weather = json.loads(schema_json())["properties"]["weather"]
    kinds = [option.get("type") or option.get("$ref") for option in weather["anyOf"]]
    assert kinds == ["string", "#/$defs/WeatherSpec", "null"]
