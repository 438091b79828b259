"""Schema fingerprints: each object's definition as normalized text, the same SQL on the source and the restore.

One query per kind over ``information_schema`` returns ``name``, ``definition`` (one property per line,
so a difference can be shown as a short diff) and ``digest`` (``SHA2(definition, 256)``). The backup
reads it from the source inside the facts snapshot into the manifest; the restore suite runs the same
query in the restored server and compares digests. Only what the server itself rewrites is left out:
the ``AUTO_INCREMENT=`` counter, statistics, creation times, the actual row format a server chose by
default (the declared one in ``CREATE_OPTIONS`` is kept), blanks at the end of a body's lines (mydumper
adds some; only a string literal spanning lines could hold them). Definers are compared as recorded.

``definition`` is NULL when the reading account may not see the object's text (a routine body without
``SELECT`` on ``mysql.proc``, a view without ``SHOW VIEW``): such an object cannot be compared, and the
suite says so instead of passing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from drdrill.checks.account_fingerprint import accounts_query
from drdrill.checks.sql import fingerprint_select
from drdrill.endpoints import sql_list
from drdrill.storage.manifest import SchemaObject

NL = "CHAR(10)"
SEP = "'\n'"  # a real newline inside the literal: the same under NO_BACKSLASH_ESCAPES


def _lines(*parts: str) -> str:
    """``CONCAT_WS`` of newline-separated parts (a NULL part is left out)."""
    return f"CONCAT_WS({NL}, {', '.join(parts)})"


def _prop(label: str, expression: str) -> str:
    """``label: QUOTE(value)`` — QUOTE keeps NULL (``NULL``) apart from the string ``'NULL'``."""
    return f"CONCAT('{label}: ', QUOTE({expression}))"


def _body(expression: str) -> str:
    """``body: <text>`` with blanks at line ends dropped: mydumper adds one after a trigger's ``;`` lines."""
    return f"CONCAT('body: ', REGEXP_REPLACE({expression}, '(?m)[[:blank:]]+$', ''))"


def tables_query(databases: Sequence[str], collation: str) -> str:
    """Base tables: engine, collation, declared options, columns in order, foreign keys, checks, partitions."""
    dbs = sql_list(databases)
    columns = (
        "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, GROUP_CONCAT(CONCAT_WS(' ', 'column', QUOTE(COLUMN_NAME), "
        "COLUMN_TYPE, CONCAT('null=', IS_NULLABLE), CONCAT('default=', QUOTE(COLUMN_DEFAULT)), "
        "CONCAT('extra=', QUOTE(EXTRA)), CONCAT('generated=', QUOTE(GENERATION_EXPRESSION)), "
        "CONCAT('charset=', QUOTE(CHARACTER_SET_NAME)), CONCAT('collation=', QUOTE(COLLATION_NAME)), "
        f"CONCAT('comment=', QUOTE(COLUMN_COMMENT))) ORDER BY ORDINAL_POSITION SEPARATOR {SEP}) AS part "
        f"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({dbs}) GROUP BY TABLE_SCHEMA, TABLE_NAME"
    )
    foreign_keys = (
        "SELECT r.CONSTRAINT_SCHEMA AS s, r.TABLE_NAME AS t, GROUP_CONCAT(CONCAT_WS(' ', 'foreign key', "
        "QUOTE(r.CONSTRAINT_NAME), k.cols, '->', CONCAT(QUOTE(k.ref_schema), '.', QUOTE(r.REFERENCED_TABLE_NAME)), "
        "k.ref_cols, 'ON DELETE', r.DELETE_RULE, 'ON UPDATE', r.UPDATE_RULE) ORDER BY r.CONSTRAINT_NAME "
        f"SEPARATOR {SEP}) AS part FROM information_schema.REFERENTIAL_CONSTRAINTS r JOIN ("
        "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, MAX(REFERENCED_TABLE_SCHEMA) AS ref_schema, "
        "CONCAT('(', GROUP_CONCAT(QUOTE(COLUMN_NAME) ORDER BY ORDINAL_POSITION), ')') AS cols, "
        "CONCAT('(', GROUP_CONCAT(QUOTE(REFERENCED_COLUMN_NAME) ORDER BY ORDINAL_POSITION), ')') AS ref_cols "
        "FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL "
        f"AND CONSTRAINT_SCHEMA IN ({dbs}) GROUP BY CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME) k "
        "ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.TABLE_NAME = r.TABLE_NAME "
        f"AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME WHERE r.CONSTRAINT_SCHEMA IN ({dbs}) "
        "GROUP BY r.CONSTRAINT_SCHEMA, r.TABLE_NAME"
    )
    checks = (
        "SELECT CONSTRAINT_SCHEMA AS s, TABLE_NAME AS t, GROUP_CONCAT(CONCAT_WS(' ', 'check', "
        f"QUOTE(CONSTRAINT_NAME), LEVEL, QUOTE(CHECK_CLAUSE)) ORDER BY CONSTRAINT_NAME SEPARATOR {SEP}) AS part "
        f"FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN ({dbs}) "
        "GROUP BY CONSTRAINT_SCHEMA, TABLE_NAME"
    )
    partitions = (
        "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, GROUP_CONCAT(CONCAT_WS(' ', 'partition', "
        "QUOTE(PARTITION_NAME), QUOTE(SUBPARTITION_NAME), PARTITION_METHOD, QUOTE(PARTITION_EXPRESSION), "
        "QUOTE(SUBPARTITION_METHOD), QUOTE(SUBPARTITION_EXPRESSION), QUOTE(PARTITION_DESCRIPTION)) "
        f"ORDER BY PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION SEPARATOR {SEP}) AS part "
        f"FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA IN ({dbs}) AND PARTITION_NAME IS NOT NULL "
        "GROUP BY TABLE_SCHEMA, TABLE_NAME"
    )
    joined = " ".join(
        f"LEFT JOIN ({sql}) AS {alias} ON {alias}.s = tb.TABLE_SCHEMA AND {alias}.t = tb.TABLE_NAME"
        for alias, sql in (("c", columns), ("f", foreign_keys), ("k", checks), ("p", partitions))
    )
    definition = _lines(
        _prop("engine", "tb.ENGINE"),
        _prop("collation", "tb.TABLE_COLLATION"),
        _prop("options", "tb.CREATE_OPTIONS"),
        _prop("comment", "tb.TABLE_COMMENT"),
        "c.part",
        "f.part",
        "k.part",
        "p.part",
    )
    source = (
        f"information_schema.TABLES tb {joined} "
        f"WHERE tb.TABLE_TYPE = 'BASE TABLE' AND tb.TABLE_SCHEMA IN ({dbs})"
    )
    return fingerprint_select("CONCAT(tb.TABLE_SCHEMA, '.', tb.TABLE_NAME)", definition, source, collation)


def indexes_query(databases: Sequence[str], collation: str) -> str:
    """Indexes, one object each (``schema.table.index``): kind, type, columns with prefix and order, ignored."""
    kind = (
        "CASE WHEN MAX(INDEX_NAME) = 'PRIMARY' THEN 'PRIMARY' WHEN MAX(INDEX_TYPE) IN ('FULLTEXT', 'SPATIAL') "
        "THEN MAX(INDEX_TYPE) WHEN MAX(NON_UNIQUE) = 0 THEN 'UNIQUE' ELSE 'INDEX' END"
    )
    definition = _lines(
        "CONCAT('table: ', TABLE_SCHEMA, '.', TABLE_NAME)",
        f"CONCAT('kind: ', {kind})",
        _prop("type", "MAX(INDEX_TYPE)"),
        "CONCAT('columns: ', GROUP_CONCAT(CONCAT_WS(' ', QUOTE(COLUMN_NAME), QUOTE(SUB_PART), QUOTE(COLLATION)) "
        "ORDER BY SEQ_IN_INDEX SEPARATOR ', '))",
        _prop("ignored", "MAX(IGNORED)"),
        _prop("comment", "MAX(INDEX_COMMENT)"),
    )
    source = (
        f"information_schema.STATISTICS WHERE TABLE_SCHEMA IN ({sql_list(databases)}) "
        "GROUP BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME"
    )
    return fingerprint_select("CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, '.', INDEX_NAME)", definition, source, collation)


def views_query(databases: Sequence[str], collation: str) -> str:
    """Views: the server's own rewrite of the definition, algorithm, security type, definer, check option."""
    definition = (
        "IF(VIEW_DEFINITION IS NULL OR VIEW_DEFINITION = '', NULL, "
        + _lines(
            _prop("algorithm", "ALGORITHM"),
            _prop("security", "SECURITY_TYPE"),
            _prop("definer", "DEFINER"),
            _prop("check option", "CHECK_OPTION"),
            "CONCAT('definition: ', VIEW_DEFINITION)",
        )
        + ")"
    )
    source = f"information_schema.VIEWS WHERE TABLE_SCHEMA IN ({sql_list(databases)})"
    return fingerprint_select("CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)", definition, source, collation)


def routines_query(databases: Sequence[str], collation: str) -> str:
    """Functions and procedures: parameters, return type, characteristics, definer, sql_mode and body."""
    dbs = sql_list(databases)
    parameters = (
        "SELECT SPECIFIC_SCHEMA AS s, SPECIFIC_NAME AS n, ROUTINE_TYPE AS k, GROUP_CONCAT(CONCAT_WS(' ', "
        "'parameter', QUOTE(PARAMETER_MODE), QUOTE(PARAMETER_NAME), DTD_IDENTIFIER) ORDER BY ORDINAL_POSITION "
        f"SEPARATOR {SEP}) AS part FROM information_schema.PARAMETERS "
        f"WHERE SPECIFIC_SCHEMA IN ({dbs}) AND ORDINAL_POSITION > 0 GROUP BY SPECIFIC_SCHEMA, SPECIFIC_NAME, ROUTINE_TYPE"
    )
    definition = (
        "IF(r.ROUTINE_DEFINITION IS NULL, NULL, "
        + _lines(
            _prop("returns", "r.DTD_IDENTIFIER"),
            "pa.part",
            _prop("language", "r.ROUTINE_BODY"),
            _prop("deterministic", "r.IS_DETERMINISTIC"),
            _prop("data access", "r.SQL_DATA_ACCESS"),
            _prop("security", "r.SECURITY_TYPE"),
            _prop("definer", "r.DEFINER"),
            _prop("sql_mode", "r.SQL_MODE"),
            _prop("comment", "r.ROUTINE_COMMENT"),
            _body("r.ROUTINE_DEFINITION"),
        )
        + ")"
    )
    source = (
        f"information_schema.ROUTINES r LEFT JOIN ({parameters}) AS pa ON pa.s = r.ROUTINE_SCHEMA "
        f"AND pa.n = r.SPECIFIC_NAME AND pa.k = r.ROUTINE_TYPE WHERE r.ROUTINE_SCHEMA IN ({dbs})"
    )
    return fingerprint_select(
        "CONCAT(r.ROUTINE_SCHEMA, '.', r.ROUTINE_NAME, ' (', r.ROUTINE_TYPE, ')')", definition, source, collation
    )


def triggers_query(databases: Sequence[str], collation: str) -> str:
    """Triggers: table, timing, event, order, definer, sql_mode and body."""
    definition = _lines(
        "CONCAT('table: ', EVENT_OBJECT_SCHEMA, '.', EVENT_OBJECT_TABLE)",
        "CONCAT('when: ', ACTION_TIMING, ' ', EVENT_MANIPULATION, ' order ', ACTION_ORDER)",
        _prop("definer", "DEFINER"),
        _prop("sql_mode", "SQL_MODE"),
        _body("ACTION_STATEMENT"),
    )
    source = f"information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN ({sql_list(databases)})"
    return fingerprint_select("CONCAT(TRIGGER_SCHEMA, '.', TRIGGER_NAME)", definition, source, collation)


def events_query(databases: Sequence[str], collation: str) -> str:
    """Events: schedule, status, completion, definer, sql_mode and body."""
    definition = _lines(
        "CONCAT_WS(' ', 'schedule:', EVENT_TYPE, QUOTE(EXECUTE_AT), QUOTE(INTERVAL_VALUE), QUOTE(INTERVAL_FIELD), "
        "'starts', QUOTE(STARTS), 'ends', QUOTE(ENDS), 'time zone', QUOTE(TIME_ZONE))",
        _prop("status", "STATUS"),
        _prop("on completion", "ON_COMPLETION"),
        _prop("definer", "DEFINER"),
        _prop("sql_mode", "SQL_MODE"),
        _prop("comment", "EVENT_COMMENT"),
        _body("EVENT_DEFINITION"),
    )
    source = f"information_schema.EVENTS WHERE EVENT_SCHEMA IN ({sql_list(databases)})"
    return fingerprint_select("CONCAT(EVENT_SCHEMA, '.', EVENT_NAME)", definition, source, collation)


QueryBuilder = Callable[[Sequence[str], str], str]
FINGERPRINT_QUERIES: dict[str, QueryBuilder] = {
    "tables": tables_query,
    "indexes": indexes_query,
    "views": views_query,
    "routines": routines_query,
    "triggers": triggers_query,
    "events": events_query,
    "accounts": accounts_query,
}
FINGERPRINT_KINDS = tuple(FINGERPRINT_QUERIES)
READ_COLLATION = "utf8mb4_nopad_bin"


def read_fingerprints(
    cursor: Any, databases: Sequence[str], kinds: Sequence[str] = FINGERPRINT_KINDS
) -> tuple[SchemaObject, ...]:
    """Every object of ``kinds`` in ``databases``, sorted by kind and name (one query per kind)."""
    objects: list[SchemaObject] = []
    for kind in kinds:
        cursor.execute(FINGERPRINT_QUERIES[kind](databases, READ_COLLATION))
        objects += [
            SchemaObject(kind, name, digest or "", definition)
            for name, definition, digest in sorted(cursor.fetchall(), key=lambda row: row[0])
        ]
    return tuple(objects)


_STAND_IN_RE = re.compile(r"^select (?:(?:1|NULL) AS `(?:[^`]|``)+`,?)+$", re.IGNORECASE)


def is_view_stand_in(definition: str | None) -> bool:
    """True for the dump tool's placeholder view (``select 1 AS `a`,1 AS `b```, no FROM)."""
    if not definition:
        return False
    body = next((line[len("definition: "):] for line in definition.splitlines() if line.startswith("definition: ")), "")
    return bool(_STAND_IN_RE.match(body))
