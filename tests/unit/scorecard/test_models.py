"""The response models describe the app's answers in its OpenAPI document and pass the answers through whole."""

from __future__ import annotations

import pytest

from drdrill.scorecard.app import create_app
from drdrill.scorecard.models import Fleet

pytestmark = pytest.mark.unit


def test_each_json_route_answers_its_model_in_the_openapi_document() -> None:
    schema = create_app(lambda: ("sqlite://", [])).openapi()
    for path, model in (("/api/fleet", "Fleet"), ("/api/targets/{target}", "TargetSummary"),
                        ("/api/targets/{target}/runs", "RunsPage")):
        answer = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": f"#/components/schemas/{model}"}, path
    assert "503" in schema["paths"]["/api/fleet"]["get"]["responses"]
    assert "description" in schema["components"]["schemas"]["Backup"]["properties"]["proven_at"]


def test_a_field_not_yet_described_is_still_answered() -> None:
    fleet = Fleet.model_validate({"generated_at": "now", "drill_kinds": [], "targets": [], "new_field": 1})
    assert fleet.model_dump()["new_field"] == 1
