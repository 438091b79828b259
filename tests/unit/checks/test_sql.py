"""The SQL the expectations run: literals and identifiers escaped, GX's ``{batch}`` placeholder intact."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drdrill.checks.checksum import table_checksum_sql
from drdrill.checks.sql import (
    checksum_expression,
    checksum_mismatch_query,
    inventory_query,
    rows_after_target_query,
    rows_before_target_mismatch_query,
)
from drdrill.storage.manifest import TableFacts

pytestmark = pytest.mark.unit

TRICKY = TableFacts("sh`op", "odd{name}", 7, "123456", ("id", "we}ird`{col"), ("id",))


def test_an_inventory_query_is_limited_to_the_databases_with_escaped_names() -> None:
    query = inventory_query("tables", ["shop", "o'k"])
    assert query == (
        "SELECT CONVERT(CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) USING utf8mb4) COLLATE utf8mb4_nopad_bin AS name "
        "FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ('shop', 'o''k') AND TABLE_TYPE = 'BASE TABLE'"
    )


def test_routines_are_named_with_their_type_in_the_collation_given() -> None:
    query = inventory_query("routines", ["shop"], collation="utf8mb4_0900_bin")
    assert "CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME, ' (', ROUTINE_TYPE, ')')" in query
    assert "COLLATE utf8mb4_0900_bin" in query and query.endswith("WHERE ROUTINE_SCHEMA IN ('shop')")


def test_the_checksum_expression_is_the_shared_checksums_aggregate() -> None:
    expression = checksum_expression(TRICKY)
    assert table_checksum_sql(TRICKY.schema, TRICKY.name, TRICKY.columns) == (
        f"SELECT COUNT(*), {expression} FROM `sh``op`.`odd{{name}}`"
    )
    assert expression.startswith("COALESCE(SUM(CRC32(") and "`we}ird``{col`" in expression


def test_the_checksum_query_survives_gx_formatting_braces_in_identifiers() -> None:
    query = checksum_mismatch_query(TRICKY)
    formatted = query.format(batch="`sh``op`.`odd{name}`")  # what GX does with {batch}
    assert formatted == (
        "SELECT restored.row_count AS restored_rows, CAST(restored.checksum AS CHAR) AS restored_checksum "
        f"FROM (SELECT COUNT(*) AS row_count, {checksum_expression(TRICKY)} AS checksum "
        "FROM `sh``op`.`odd{name}`) AS restored WHERE restored.checksum <> 123456"
    )


def test_a_checksum_that_is_not_a_whole_number_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a whole number"):
        checksum_mismatch_query(TableFacts("shop", "t", 1, "1; DROP TABLE t", ("id",), ("id",)))


def test_the_boundary_queries_compare_in_utc_with_the_column_quoted() -> None:
    target = datetime(2026, 1, 1, 12, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    after = rows_after_target_query("beat`{at}", target).format(batch="`hb`")
    assert after == (
        "SELECT after_target.rows_after, after_target.newest_after FROM (SELECT COUNT(*) AS rows_after, "
        "MAX(`beat``{at}`) AS newest_after FROM `hb` WHERE `beat``{at}` >= '2026-01-01 10:00:05') "
        "AS after_target WHERE after_target.rows_after > 0"
    )
    before = rows_before_target_mismatch_query("beat_at", target, 42).format(batch="`hb`")
    assert before == (
        "SELECT before_target.rows_before FROM (SELECT COUNT(*) AS rows_before FROM `hb` "
        "WHERE `beat_at` < '2026-01-01 10:00:05') AS before_target WHERE before_target.rows_before <> 42"
    )


def test_a_target_with_microseconds_keeps_them_and_a_naive_one_is_read_as_utc() -> None:
    query = rows_after_target_query("at", datetime(2026, 1, 1, 10, 0, 5, 250_000))
    assert ">= '2026-01-01 10:00:05.250000'" in query
