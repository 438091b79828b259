"""The drills YAML's JSON Schema: it accepts the shipped file and refuses wrong ones at the key (the CLI command
that prints it: tests/unit/test_cli.py)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from drdrill.config.schema import drills_json_schema
from drdrill.locations import project_root

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = drills_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def shipped() -> dict[str, Any]:
    return yaml.safe_load((project_root() / "include" / "drills.yaml").read_text())


def problems(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(data)]


def test_the_shipped_drills_yaml_is_valid(validator: jsonschema.Draft202012Validator) -> None:
    assert problems(validator, shipped()) == []


def test_a_target_may_take_its_sections_from_defaults(validator: jsonschema.Draft202012Validator) -> None:
    data = {"defaults": {"storage": {"conn_id": "s3", "bucket": "drdrill-backups"}, "objectives": {"rto": "30m"},
                         "retention": {"keep_days": 3}},
            "targets": [{"name": "shop", "source_conn_id": "p", "databases": ["shop"], "objectives": {"rpo": 900}}]}
    assert problems(validator, data) == []


@pytest.mark.parametrize(("change", "where"), [
    (lambda target: target.update(objectivs={"rto": "30m"}), "targets/0: Additional properties"),
    (lambda target: target["objectives"].update(rto="15 minutes"), "targets/0/objectives/rto"),
    (lambda target: target.update(engine="xtrabackup"), "targets/0/engine"),
    (lambda target: target.pop("name"), "targets/0: 'name' is a required property"),
    (lambda target: target["schedules"].update(backup="@nightly"), "targets/0/schedules/backup"),
    (lambda target: target["heartbeat"].update(table="heartbeat"), "targets/0/heartbeat: "),
    (lambda target: target["engine_options"].update(parallel=100), "targets/0/engine_options/parallel"),
    (lambda target: target["failover_drill"].update(fault="explode"), "targets/0/failover_drill/fault"),
    (lambda target: target.update(storage={"conn_id": "s3", "bucket": "drdrill-backups",
                                           "manifest_signing_conn_id": "has space"}),
     "targets/0/storage/manifest_signing_conn_id"),
])
def test_a_wrong_file_is_refused_at_the_key(validator: jsonschema.Draft202012Validator, change: Any, where: str) -> None:
    data = shipped()
    change(data["targets"][0])
    assert any(problem.startswith(where) for problem in problems(validator, data)), problems(validator, data)


def test_keys_are_documented_with_file_form_defaults() -> None:
    definitions = drills_json_schema()["$defs"]
    lag = definitions["FailoverDrill"]["properties"]["max_replica_lag"]
    assert lag["default"] == "10s" and lag["examples"] == ["10s"] and lag["description"]
    assert all(key.get("description") for key in definitions["Target"]["properties"].values())
    assert "schema" not in definitions["Heartbeat"]["properties"]  # the file writes table: schema.table

