"""What the source holds at one consistent point: per-table counts and checksums, its schema objects and their
definitions (``schema_fingerprint``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from drdrill.checks.checksum import table_checksum_sql
from drdrill.checks.schema_fingerprint import FINGERPRINT_KINDS, read_fingerprints
from drdrill.endpoints import MySQLEndpoint, one_row
from drdrill.storage.manifest import BinlogPosition, Inventory, SchemaObject, TableFacts


@dataclass(frozen=True)
class SourceFacts:
    """Counts, checksums, inventory and definitions, with the binlog position they describe."""

    point: BinlogPosition
    taken_at: str
    tables: tuple[TableFacts, ...]
    inventory: Inventory
    schema: tuple[SchemaObject, ...] = ()


def _placeholders(values: Sequence[str]) -> str:
    return ", ".join(["%s"] * len(values))


def read_inventory(cursor: Any, databases: Sequence[str]) -> Inventory:
    """Tables, views, routines, triggers and events of the given schemas, as sorted ``schema.name`` lists."""
    marks = _placeholders(databases)
    queries = {
        "tables": f"SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                  f"WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ({marks})",
        "views": f"SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ({marks})",
        "routines": f"SELECT ROUTINE_SCHEMA, CONCAT(ROUTINE_NAME, ' (', ROUTINE_TYPE, ')') "
                    f"FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ({marks})",
        "triggers": f"SELECT TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS "
                    f"WHERE TRIGGER_SCHEMA IN ({marks})",
        "events": f"SELECT EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ({marks})",
    }
    found: dict[str, tuple[str, ...]] = {}
    for kind, sql in queries.items():
        cursor.execute(sql, list(databases))
        found[kind] = tuple(sorted(f"{schema}.{name}" for schema, name in cursor.fetchall()))
    return Inventory(**found)


def read_table_columns(cursor: Any, schema: str, table: str) -> tuple[str, ...]:
    """A table's columns in order."""
    cursor.execute(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
        (schema, table),
    )
    return tuple(name for (name,) in cursor.fetchall())


def read_primary_keys(cursor: Any, schemas: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``schema.table`` → the columns of its PRIMARY KEY constraint in key order, for every table of ``schemas``
    (one query; a table without a primary key is absent). Source facts and the restore suite share it."""
    if not schemas:
        return {}
    cursor.execute(
        "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        f"WHERE CONSTRAINT_NAME = 'PRIMARY' AND TABLE_SCHEMA IN ({_placeholders(schemas)}) "
        "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
        list(schemas),
    )
    keys: dict[str, tuple[str, ...]] = {}
    for schema, table, column in cursor.fetchall():
        keys[f"{schema}.{table}"] = (*keys.get(f"{schema}.{table}", ()), column)
    return keys


def checksum_tables(cursor: Any, inventory: Inventory) -> tuple[TableFacts, ...]:
    """Count and checksum every base table with the shared checksum expression."""
    primary_keys = read_primary_keys(cursor, sorted({qualified.split(".", 1)[0] for qualified in inventory.tables}))
    facts = []
    for qualified in inventory.tables:
        schema, table = qualified.split(".", 1)
        columns = read_table_columns(cursor, schema, table)
        cursor.execute(table_checksum_sql(schema, table, columns))
        rows, checksum = one_row(cursor)
        facts.append(TableFacts(schema, table, int(rows), str(checksum), columns, primary_keys.get(qualified, ())))
    return tuple(facts)


def collect_source_facts(
    source: MySQLEndpoint, databases: Sequence[str], fingerprint_kinds: Sequence[str] = FINGERPRINT_KINDS
) -> SourceFacts:
    """Take counts, checksums and definitions inside one consistent snapshot and record its binlog position.

    MariaDB reports the snapshot's own binlog coordinates (``binlog_snapshot_file/position``), so the
    facts describe one point in time even while the source takes writes.
    """
    connection = source.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            taken_at = datetime.now(timezone.utc).isoformat()
            cursor.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
            status = {name.lower(): value for name, value in cursor.fetchall()}
            file, position = status["binlog_snapshot_file"], int(status["binlog_snapshot_position"])
            cursor.execute("SELECT BINLOG_GTID_POS(%s, %s)", (file, position))
            gtid = one_row(cursor)[0] or ""
            inventory = read_inventory(cursor, databases)
            tables = checksum_tables(cursor, inventory)
            schema = read_fingerprints(cursor, databases, fingerprint_kinds)
            cursor.execute("COMMIT")
    finally:
        connection.close()
    return SourceFacts(BinlogPosition(file, position, gtid), taken_at, tables, inventory, schema)
