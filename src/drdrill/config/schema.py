"""The drills YAML's JSON Schema, for editors (a YAML language server checks and completes the file with it)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from drdrill.config.models import TARGET_ONLY_KEYS, DrillsFile
from drdrill.durations import format_duration

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _FileSchema(GenerateJsonSchema):
    """Pydantic's generator, with durations written as in the file (``10s``) and no title per key."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def encode_default(self, dft: Any) -> Any:
        return format_duration(dft) if isinstance(dft, timedelta) else super().encode_default(dft)


def drills_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the drills YAML, with each key's description and an example.

    A target's shared keys may come from ``defaults`` (sections merge key by key), so a target requires
    only its own keys, and the defaults' sections are the targets' sections.
    """
    schema = TypeAdapter(DrillsFile).json_schema(schema_generator=_FileSchema)
    definitions = schema["$defs"]
    for name in [name for name in definitions if name.endswith("Defaults") and name != "TargetDefaults"]:
        del definitions[name]  # the defaults' sections are the targets' sections, less their required keys
    for name, definition in definitions.items():
        required = [key for key in definition.pop("required", []) if name == "Target" and key in TARGET_ONLY_KEYS]
        definition.update({"required": required} if required else {})
    text = re.sub(r'"#/\$defs/(?!Target)(\w+)Defaults"', r'"#/$defs/\1"', json.dumps(schema))
    return {"$schema": SCHEMA_DIALECT, **json.loads(text), "title": "drdrill drills config"}
