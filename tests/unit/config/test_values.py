"""The config's value types: each accepts the documented forms and refuses the rest with drdrill's own message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ConfigDict, TypeAdapter, ValidationError

from drdrill.config.values import (PATTERN_RULES, Duration, EngineName, Fault, Names, SchemaNames, Schedule, Size,
                                   describe)

pytestmark = pytest.mark.unit


def refusal(kind: Any, value: Any) -> dict[str, Any]:
    """The one error ``kind`` raises for ``value``: its type and context."""
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(kind, config=ConfigDict(regex_engine="python-re")).validate_python(value)
    (error,) = caught.value.errors()
    return {"type": error["type"], **error.get("ctx", {})}


@pytest.mark.parametrize(("text", "expected"), [("90s", timedelta(seconds=90)), ("1h30m", timedelta(minutes=90)),
                                                (900, timedelta(minutes=15)), (timedelta(days=2), timedelta(days=2))])
def test_durations_in_every_documented_form(text: Any, expected: timedelta) -> None:
    assert TypeAdapter(Duration).validate_python(text) == expected


@pytest.mark.parametrize("text", ["15 minutes", "0s", "-5m", True])
def test_bad_durations_say_how_to_write_one(text: Any) -> None:
    error = refusal(Duration, text)
    assert error["type"] == "drdrill" and "{name}: {example}" in error["fix"]


def test_durations_are_written_back_in_the_file_s_form() -> None:
    assert TypeAdapter(Duration).dump_python(timedelta(seconds=10), mode="json") == "10s"


def test_schedules_keep_presets_and_five_field_crons() -> None:
    assert TypeAdapter(Schedule).validate_python(" @daily ") == "@daily"
    assert TypeAdapter(Schedule).validate_python("0 */6 * * *") == "0 */6 * * *"
    for wrong, piece in (("@nightly", "not a known preset"), ("0 2 * *", "has 4 fields"), ("61 * * * *", "out of range"),
                         (5, "in quotes")):
        error = refusal(Schedule, wrong)
        assert piece in error["problem"] and '"0 2 * * *"' in error["fix"]


def test_sizes_become_bytes() -> None:
    assert TypeAdapter(Size).validate_python("2GiB") == 2 * 2**30
    assert "invalid size" in refusal(Size, "1 gigabyte")["problem"]


def test_engine_aliases_become_the_engine_s_name() -> None:
    assert TypeAdapter(EngineName).validate_python("mysqldump") == "mariadb-dump"
    assert TypeAdapter(EngineName).validate_python("mariadb-backup") == "mariabackup"
    error = refusal(EngineName, "xtrabackup")
    assert "unknown engine 'xtrabackup'" in error["problem"] and "mydumper" in error["fix"]


def test_faults_are_the_known_ones() -> None:
    assert TypeAdapter(Fault).validate_python("rds_reboot") == "rds_reboot"
    assert "kill, shutdown" in refusal(Fault, "explode")["fix"]


def test_lists_refuse_repeats_and_schema_names_refuse_spaces() -> None:
    assert TypeAdapter(Names).validate_python(["a", "b"]) == ("a", "b")
    assert "'a' more than once" in refusal(Names, ["a", "b", "a"])["problem"]
    assert PATTERN_RULES[refusal(SchemaNames, [" shop"])["pattern"]].startswith("a schema name")


def test_describe_names_the_yaml_type() -> None:
    assert describe(None) == "null"
    assert describe(True) == "boolean True"
    assert describe("x" * 100).endswith("...")
