"""The source's facts from information_schema and the shared checksum, read through a scripted cursor.

The consistent snapshot itself (``collect_source_facts`` against a server taking writes) is proven on a
real MariaDB by the integration tests (tests/integration/test_gx_suite.py, tests/system/test_backup_dag.py); here the
queries it sends and how it reads their answers.
"""

from __future__ import annotations

from typing import Any

import pytest

from drdrill.checks.checksum import table_checksum_sql
from drdrill.checks.source_facts import (
    checksum_tables,
    collect_source_facts,
    read_inventory,
    read_primary_keys,
    read_table_columns,
)
from drdrill.storage.manifest import BinlogPosition, Inventory, SchemaObject, TableFacts

pytestmark = pytest.mark.unit


class ScriptedCursor:
    """Answers each query with the rows of the first script entry whose text it contains; records them all."""

    def __init__(self, script: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        self.script = script
        self.executed: list[tuple[str, Any]] = []
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, parameters: Any = None) -> None:
        self.executed.append((sql, parameters))
        self._rows = next((rows for text, rows in self.script if text in sql), [])

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def __enter__(self) -> ScriptedCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


SHAPE = [
    ("information_schema.COLUMNS", [("id",), ("note",)]),
    ("information_schema.KEY_COLUMN_USAGE", [("shop", "odd`name", "id"), ("shop", "orders", "id")]),
    ("CRC32", [(3, 987654321)]),
]


def test_the_inventory_is_sorted_schema_names_of_the_given_databases() -> None:
    cursor = ScriptedCursor(
        [
            ("information_schema.TABLES", [("shop", "orders"), ("audit", "log")]),
            ("information_schema.VIEWS", [("shop", "v")]),
            ("information_schema.ROUTINES", [("shop", "total (FUNCTION)")]),
        ]
    )
    inventory = read_inventory(cursor, ["shop", "audit"])
    assert inventory == Inventory(
        tables=("audit.log", "shop.orders"), views=("shop.v",), routines=("shop.total (FUNCTION)",)
    )
    assert len(cursor.executed) == 5 and all(
        parameters == ["shop", "audit"] for _, parameters in cursor.executed
    )
    assert all(sql.endswith("IN (%s, %s)") for sql, _ in cursor.executed[1:])


def test_a_tables_columns_are_read_in_order() -> None:
    cursor = ScriptedCursor(SHAPE)
    assert read_table_columns(cursor, "shop", "orders") == ("id", "note")
    assert [parameters for _, parameters in cursor.executed] == [("shop", "orders")]


def test_primary_keys_are_read_once_for_all_schemas_in_key_order_and_keyless_tables_are_absent() -> None:
    cursor = ScriptedCursor(
        [("information_schema.KEY_COLUMN_USAGE", [("audit", "log", "day"), ("audit", "log", "seq"), ("shop", "t", "id")])]
    )
    assert read_primary_keys(cursor, ["audit", "shop"]) == {"audit.log": ("day", "seq"), "shop.t": ("id",)}
    assert len(cursor.executed) == 1 and cursor.executed[0][1] == ["audit", "shop"]
    assert "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION" in cursor.executed[0][0]
    assert read_primary_keys(cursor, []) == {} and len(cursor.executed) == 1  # no schema, no query


def test_each_table_is_counted_and_checksummed_with_the_shared_expression() -> None:
    cursor = ScriptedCursor(SHAPE)
    facts = checksum_tables(cursor, Inventory(tables=("shop.odd`name",)))
    assert facts == (TableFacts("shop", "odd`name", 3, "987654321", ("id", "note"), ("id",)),)
    assert cursor.executed[-1] == (table_checksum_sql("shop", "odd`name", ("id", "note")), None)


def test_a_checksum_query_that_returns_no_row_is_an_error_not_a_zero() -> None:
    with pytest.raises(RuntimeError, match="returned no row"):
        checksum_tables(ScriptedCursor(SHAPE[:2]), Inventory(tables=("shop.t",)))


class ScriptedEndpoint:
    def __init__(self, cursor: ScriptedCursor) -> None:
        self.cursor_ = cursor
        self.closed = False

    def connect(self) -> ScriptedEndpoint:
        return self

    def cursor(self) -> ScriptedCursor:
        return self.cursor_

    def close(self) -> None:
        self.closed = True


def test_the_facts_are_taken_in_one_snapshot_at_its_own_binlog_position() -> None:
    cursor = ScriptedCursor(
        [
            (
                "binlog_snapshot_",
                [("Binlog_snapshot_file", "mysql-bin.000002"), ("Binlog_snapshot_position", "600")],
            ),
            ("BINLOG_GTID_POS", [("0-1-6",)]),
            ("information_schema.STATISTICS", [("shop.orders.PRIMARY", "table: shop.orders", "d1")]),
            ("AS object_name", []),  # the other fingerprint kinds: nothing of theirs in this schema
            ("information_schema.TABLES", [("shop", "orders")]),
            *SHAPE,
        ]
    )
    endpoint = ScriptedEndpoint(cursor)
    facts = collect_source_facts(endpoint, ["shop"])  # type: ignore[arg-type]
    assert facts.point == BinlogPosition("mysql-bin.000002", 600, "0-1-6")
    assert facts.tables == (TableFacts("shop", "orders", 3, "987654321", ("id", "note"), ("id",)),)
    assert facts.schema == (SchemaObject("indexes", "shop.orders.PRIMARY", "d1", "table: shop.orders"),)
    statements = [sql for sql, _ in cursor.executed]
    assert statements[:2] == [
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT",
    ]
    assert statements[-1] == "COMMIT" and cursor.executed[3] == (
        "SELECT BINLOG_GTID_POS(%s, %s)",
        ("mysql-bin.000002", 600),
    )
    assert endpoint.closed
