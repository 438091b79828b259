"""The per-table content checksum, as SQL: the same expression runs on the source and on a restore."""

from __future__ import annotations

from collections.abc import Sequence


def quote_identifier(name: str) -> str:
    """Backtick-quote a MySQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def table_checksum_sql(schema: str, table: str, columns: Sequence[str]) -> str:
    """``SELECT COUNT(*), SUM(CRC32(row))`` over a table; order-independent, NULL-aware, runs in the server.

    Each row is rendered as its columns joined by '#' plus a NULL bitmap, so ('a', NULL) and
    (NULL, 'a') differ; SUM (not XOR) keeps duplicate rows from cancelling out.
    """
    if not columns:
        raise ValueError(f"{schema}.{table} has no columns")
    cols = [quote_identifier(col) for col in columns]
    null_map = "CONCAT(" + ", ".join(f"ISNULL({col})" for col in cols) + ")"
    row = f"CONCAT_WS('#', {', '.join(cols)}, {null_map})"
    return (
        f"SELECT COUNT(*), COALESCE(SUM(CRC32({row})), 0) "
        f"FROM {quote_identifier(schema)}.{quote_identifier(table)}"
    )
