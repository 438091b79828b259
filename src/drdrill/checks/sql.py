"""The SQL the suites' expectations run in the restored server: inventory and unexpected-rows queries.

Queries given to GX's UnexpectedRowsExpectation read ``{batch}`` for the table, so any brace in an
identifier is doubled; string literals are escaped for MySQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone

from drdrill.checks.checksum import quote_identifier, table_checksum_sql
from drdrill.endpoints import sql_list, sql_string
from drdrill.storage.manifest import TableFacts

_DIGITS_RE = re.compile(r"\d+")
MATERIALIZE = 18446744073709551615  # LIMIT that keeps every row and stops condition pushdown

# One query per inventory kind over information_schema, mirroring source_facts.read_inventory, as one
# `name` column ("schema.name"; routines "schema.name (FUNCTION)") in an exact (binary, no-pad) collation
# so "Orders" and "orders " do not count as "orders": (name expression, source, schema column, condition).
_INVENTORY_SOURCES: dict[str, tuple[str, str, str, str]] = {
    "tables": (
        "CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)",
        "information_schema.TABLES",
        "TABLE_SCHEMA",
        "TABLE_TYPE = 'BASE TABLE'",
    ),
    "views": ("CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)", "information_schema.VIEWS", "TABLE_SCHEMA", ""),
    "routines": (
        "CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME, ' (', ROUTINE_TYPE, ')')",
        "information_schema.ROUTINES",
        "ROUTINE_SCHEMA",
        "",
    ),
    "triggers": (
        "CONCAT(TRIGGER_SCHEMA, '.', TRIGGER_NAME)",
        "information_schema.TRIGGERS",
        "TRIGGER_SCHEMA",
        "",
    ),
    "events": ("CONCAT(EVENT_SCHEMA, '.', EVENT_NAME)", "information_schema.EVENTS", "EVENT_SCHEMA", ""),
}


def fingerprint_select(name: str, definition: str, source: str, collation: str) -> str:
    """The fingerprint query of one kind: ``name``, ``definition`` and ``digest`` (of the definition's utf8mb4
    bytes); ``schema_fingerprint`` and ``account_fingerprint`` build theirs with it.

    The inner query is materialized (``LIMIT``), so a condition a caller puts around it is not pushed
    down into it: MariaDB 10.11 evaluating a pushed-down condition over ``CONCAT_WS(..., CASE ... MAX())``
    returned one of the lines twice.
    """
    return (
        f"SELECT CONVERT(fp.object_name USING utf8mb4) COLLATE {collation} AS name, "
        f"CONVERT(fp.definition USING utf8mb4) COLLATE {collation} AS definition, "
        "SHA2(CONVERT(fp.definition USING utf8mb4), 256) AS digest "
        f"FROM (SELECT {name} AS object_name, {definition} AS definition FROM {source} "
        f"LIMIT {MATERIALIZE}) AS fp"
    )


def inventory_query(kind: str, databases: Sequence[str], collation: str = "utf8mb4_nopad_bin") -> str:
    """The query asset for one inventory kind: one ``name`` column, limited to ``databases``."""
    expression, source, schema_column, condition = _INVENTORY_SOURCES[kind]
    where = [f"{schema_column} IN ({sql_list(databases)})"]
    if condition:
        where.append(condition)
    return (
        f"SELECT CONVERT({expression} USING utf8mb4) COLLATE {collation} AS name "
        f"FROM {source} WHERE {' AND '.join(where)}"
    )


def checksum_expression(table: TableFacts) -> str:
    """The aggregate of ``table_checksum_sql`` (``COALESCE(SUM(CRC32(...)), 0)``), without its FROM."""
    sql = table_checksum_sql(table.schema, table.name, table.columns)
    head = "SELECT COUNT(*), "
    tail = f" FROM {quote_identifier(table.schema)}.{quote_identifier(table.name)}"
    if not (sql.startswith(head) and sql.endswith(tail)):
        raise RuntimeError(
            "checks/checksum.py changed the shape of table_checksum_sql; update "
            "checks/sql.py's checksum_expression to extract the new aggregate."
        )
    return sql[len(head) : -len(tail)]


def checksum_mismatch_query(table: TableFacts, *, with_row_count: bool = False) -> str:
    """UnexpectedRowsExpectation SQL: one row (restored rows and checksum) only when the checksum differs, or with
    ``with_row_count`` also when the row count does (one pass over the table for both checks)."""
    if not _DIGITS_RE.fullmatch(table.checksum):
        raise ValueError(f"the manifest's checksum {table.checksum!r} is not a whole number")
    expression = checksum_expression(table).replace("{", "{{").replace("}", "}}")  # GX formats {batch}
    differs = f"restored.checksum <> {table.checksum}" + (
        f" OR restored.row_count <> {int(table.rows)}" if with_row_count else "")
    return (
        "SELECT restored.row_count AS restored_rows, CAST(restored.checksum AS CHAR) AS restored_checksum "
        f"FROM (SELECT COUNT(*) AS row_count, {expression} AS checksum FROM {{batch}}) AS restored "
        f"WHERE {differs}"
    )


def rows_after_target_query(column: str, target_time: datetime) -> str:
    """UnexpectedRowsExpectation SQL: one row (how many, the newest) only when rows at or after the target."""
    quoted = quote_identifier(column).replace("{", "{{").replace("}", "}}")  # GX formats {batch}
    at = sql_string(_sql_datetime(target_time))
    return (
        "SELECT after_target.rows_after, after_target.newest_after "
        f"FROM (SELECT COUNT(*) AS rows_after, MAX({quoted}) AS newest_after FROM {{batch}} "
        f"WHERE {quoted} >= {at}) AS after_target WHERE after_target.rows_after > 0"
    )


def rows_before_target_mismatch_query(column: str, target_time: datetime, expected: int) -> str:
    """UnexpectedRowsExpectation SQL: one row (the count before the target) when it is not ``expected``."""
    quoted = quote_identifier(column).replace("{", "{{").replace("}", "}}")
    at = sql_string(_sql_datetime(target_time))
    return (
        "SELECT before_target.rows_before "
        f"FROM (SELECT COUNT(*) AS rows_before FROM {{batch}} WHERE {quoted} < {at}) AS before_target "
        f"WHERE before_target.rows_before <> {int(expected)}"
    )


def _sql_datetime(moment: datetime) -> str:
    """A DATETIME literal's text in UTC (the session time zone; naive means UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f" if moment.microsecond else "%Y-%m-%d %H:%M:%S")
