"""``drdrill.checks.account_fingerprint``: the query's shape (the real-server behaviour is in tests/integration)."""

from __future__ import annotations

import pytest

from drdrill.checks.account_fingerprint import DATABASE_PRIVILEGES, accounts_query
from drdrill.checks.schema_fingerprint import FINGERPRINT_QUERIES


@pytest.mark.unit
def test_the_query_returns_name_definition_and_digest_of_the_drilled_accounts() -> None:
    sql = accounts_query(["shop", "crm"], "utf8mb4_nopad_bin")
    assert sql.startswith("SELECT CONVERT(fp.object_name USING utf8mb4) COLLATE utf8mb4_nopad_bin AS name, ")
    assert "AS definition FROM (WITH RECURSIVE target_grants" in sql  # inside: GX wraps the query as a subselect
    assert "p.Db IN ('shop', 'crm')" in sql and "('shop' LIKE p.Db OR 'crm' LIKE p.Db)" in sql
    assert "'\\n'" not in sql  # separators are real newlines: NO_BACKSLASH_ESCAPES reads them alike


@pytest.mark.unit
def test_nothing_secret_or_rewritten_by_a_restore_is_read_into_the_definition() -> None:
    sql = accounts_query(["shop"], "utf8mb4_bin")
    for left_out in ("authentication_string", "Password", "Grantor", "Timestamp", "version_id"):
        assert left_out not in sql
    assert "password_last_changed') = '0'" in sql  # only whether it is expired (0), never when it changed


@pytest.mark.unit
def test_every_database_privilege_column_is_named_as_grant_names_it() -> None:
    sql = accounts_query(["shop"], "utf8mb4_bin")
    for column, name in DATABASE_PRIVILEGES:
        assert f"IF(p.{column} = 'Y', '{name}', NULL)" in sql


@pytest.mark.unit
def test_it_is_the_accounts_kind_of_the_schema_fingerprints() -> None:
    assert FINGERPRINT_QUERIES["accounts"] is accounts_query
