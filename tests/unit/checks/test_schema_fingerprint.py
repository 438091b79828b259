"""Schema fingerprint queries: one shape for every kind, names quoted, materialized; the stand-in view spotted.

What each query reads from a real server (and that a dump and restore reproduce it) is proven in
tests/integration/test_schema_fingerprint.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from drdrill.checks.schema_fingerprint import (
    FINGERPRINT_KINDS,
    FINGERPRINT_QUERIES,
    is_view_stand_in,
    read_fingerprints,
)
from drdrill.checks.sql import MATERIALIZE
from drdrill.storage.manifest import SchemaObject

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", FINGERPRINT_KINDS)
def test_every_kind_returns_name_definition_and_digest_of_the_given_databases_only(kind: str) -> None:
    sql = FINGERPRINT_QUERIES[kind](["shop", "it's"], "utf8mb4_nopad_bin")
    assert sql.startswith("SELECT CONVERT(fp.object_name USING utf8mb4) COLLATE utf8mb4_nopad_bin AS name, ")
    assert "AS definition, SHA2(CONVERT(fp.definition USING utf8mb4), 256) AS digest FROM (" in sql
    assert f"LIMIT {MATERIALIZE}) AS fp" in sql
    assert "IN ('shop', 'it''s')" in sql
    assert "'\\n'" not in sql  # separators are real newlines: NO_BACKSLASH_ESCAPES reads them alike


def test_what_the_server_rewrites_on_its_own_is_not_read() -> None:
    tables = FINGERPRINT_QUERIES["tables"](["shop"], "c")
    assert "AUTO_INCREMENT" not in tables and "ROW_FORMAT" not in tables and "TABLE_ROWS" not in tables
    assert "CREATE_OPTIONS" in tables  # the declared row format stays
    for kind, body in (("routines", "r.ROUTINE_DEFINITION"), ("triggers", "ACTION_STATEMENT"), ("events", "EVENT_DEFINITION")):
        assert f"REGEXP_REPLACE({body}, '(?m)[[:blank:]]+$', '')" in FINGERPRINT_QUERIES[kind](["shop"], "c")
    events = FINGERPRINT_QUERIES["events"](["shop"], "c")
    assert "LAST_EXECUTED" not in events and "CREATED" not in events and "ORIGINATOR" not in events


def test_unreadable_texts_come_back_as_none() -> None:
    for kind, column in (("views", "VIEW_DEFINITION"), ("routines", "r.ROUTINE_DEFINITION")):
        assert f"IF({column} IS NULL" in FINGERPRINT_QUERIES[kind](["shop"], "c")


class Cursor:
    def __init__(self) -> None:
        self.executed: list[str] = []

    def execute(self, sql: str) -> None:
        self.executed.append(sql)

    def fetchall(self) -> list[tuple[Any, ...]]:
        if "information_schema.VIEWS" in self.executed[-1]:
            return [("shop.v2", "definition: b", "d2"), ("shop.v1", None, None)]
        return []


def test_read_fingerprints_runs_one_query_per_kind_and_sorts_by_name() -> None:
    cursor = Cursor()
    objects = read_fingerprints(cursor, ["shop"], ("views", "events"))
    assert len(cursor.executed) == 2
    assert objects == (SchemaObject("views", "shop.v1", "", None), SchemaObject("views", "shop.v2", "d2", "definition: b"))


@pytest.mark.parametrize(
    ("definition", "stand_in"),
    [
        ("algorithm: 'UNDEFINED'\ndefinition: select 1 AS `id`,1 AS `name`", True),
        ("definition: select NULL AS `a`", True),
        ("definition: select 1 AS `odd``name`", True),
        ("definition: select `s`.`t`.`id` AS `id` from `s`.`t`", False),
        ("definition: select 1 AS `one` from dual where 0", False),
        (None, False),
    ],
)
def test_the_dump_tools_stand_in_view_is_recognized(definition: str | None, stand_in: bool) -> None:
    assert is_view_stand_in(definition) is stand_in
