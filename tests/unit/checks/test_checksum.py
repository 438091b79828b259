"""The per-table checksum SQL: NULL-aware, identifiers quoted, refused for a table without columns."""

from __future__ import annotations

import pytest

from drdrill.checks.checksum import quote_identifier, table_checksum_sql

pytestmark = pytest.mark.unit


def test_an_identifier_is_backtick_quoted_with_backticks_doubled() -> None:
    assert quote_identifier("plain") == "`plain`"
    assert quote_identifier("odd`name") == "`odd``name`"


def test_checksum_sql_is_null_aware_and_quotes_identifiers() -> None:
    sql = table_checksum_sql("shop", "odd`name", ["id", "note"])
    assert "`odd``name`" in sql and "ISNULL(`note`)" in sql and "SUM(CRC32(" in sql
    with pytest.raises(ValueError):
        table_checksum_sql("shop", "t", [])


def test_checksum_sql_renders_each_row_with_its_null_bitmap_and_sums() -> None:
    assert table_checksum_sql("shop", "t", ["a", "b"]) == (
        "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('#', `a`, `b`, CONCAT(ISNULL(`a`), ISNULL(`b`))))), 0) "
        "FROM `shop`.`t`"
    )
