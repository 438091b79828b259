"""The restore suite's definition: the shipped YAML loads; a malformed definition is refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drdrill.checks.suite_definition import (
    INVENTORY_KINDS,
    TABLE_CHECKS,
    check_suite_definition,
    default_definition_path,
    load_suite_definition,
)
from drdrill.checks.schema_fingerprint import FINGERPRINT_KINDS
from drdrill.errors import ConfigError

pytestmark = pytest.mark.unit

VALID = {
    "suite": "restore_drill",
    "table_checks": ["row_count"],
    "inventory": ["tables"],
    "definitions": ["views"],
    "rpo": True,
}


def test_the_shipped_definition_turns_every_check_on() -> None:
    assert default_definition_path().is_file()
    assert load_suite_definition() == {
        "suite": "restore_drill",
        "table_checks": list(TABLE_CHECKS),
        "inventory": list(INVENTORY_KINDS),
        "definitions": list(FINGERPRINT_KINDS),
        "rpo": True,
    }


def test_a_valid_definition_is_kept_with_repeats_dropped_and_empty_lists_allowed() -> None:
    assert check_suite_definition(VALID) == VALID
    repeated = {**VALID, "table_checks": ["checksum", "row_count", "checksum"], "inventory": None}
    assert check_suite_definition(repeated) == {
        **VALID,
        "table_checks": ["checksum", "row_count"],
        "inventory": [],
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["suite"], "suite definition: (top level): must be a mapping, not list."),
        ({**VALID, "extra": 1}, "suite definition: extra: is not a key of the suite definition."),
        ({"suite": "s", "table_checks": [], "inventory": [], "definitions": []}, "suite definition: rpo: is missing."),
        ({"suite": "s", "table_checks": [], "inventory": [], "rpo": True}, "suite definition: definitions: is missing."),
        ({**VALID, "definitions": ["grants"]}, "suite definition: definitions: grants: is not a known name."),
        ({**VALID, "suite": "two words"}, "suite definition: suite: 'two words' is not a simple name."),
        ({**VALID, "rpo": "yes"}, "suite definition: rpo: 'yes' is not true or false."),
        ({**VALID, "table_checks": "row_count"}, "suite definition: table_checks: must be a list of names"),
        (
            {**VALID, "table_checks": ["checksums"]},
            "suite definition: table_checks: checksums: is not a known name.",
        ),
        ({**VALID, "inventory": ["indexes"]}, "suite definition: inventory: indexes: is not a known name."),
    ],
)
def test_a_malformed_definition_is_refused_naming_the_key(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        check_suite_definition(data)
    assert str(raised.value).startswith(message)


def test_a_definition_file_that_is_missing_or_not_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match="cannot be read") as raised:
        load_suite_definition(missing)
    assert raised.value.file == str(missing) and raised.value.key == "(file)"
    broken = tmp_path / "broken.yaml"
    broken.write_text("suite: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML") as raised:
        load_suite_definition(broken)
    assert raised.value.file == str(broken)


def test_a_definition_file_is_checked_under_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("suite: x\ntable_checks: [row_count]\ninventory: []\ndefinitions: []\n")
    with pytest.raises(ConfigError, match="rpo: is missing") as raised:
        load_suite_definition(path)
    assert raised.value.file == str(path)
    path.write_text("suite: x\ntable_checks: [row_count]\ninventory: []\ndefinitions: [indexes]\nrpo: false\n")
    assert load_suite_definition(path) == {
        "suite": "x",
        "table_checks": ["row_count"],
        "inventory": [],
        "definitions": ["indexes"],
        "rpo": False,
    }
