"""``drdrill.checks.account_fingerprint``: the query's shape (the real-server behaviour is in tests/integration)."""

from __future__ import annotations

import pytest

from drdrill.checks.account_fingerprint import DATABASE_PRIVILEGES, accounts_query


@pytest.mark.unit
def test_the_query_returns_name_definition_and_digest_of_the_drilled_accounts() -> None:
    sql = accounts_query(["shop", "crm"], "utf8mb4_bin")
    assert sql.startswith("WITH RECURSIVE target_grants")
    assert "SELECT name, definition, SHA2(definition, 256) AS digest FROM (" in sql
    assert sql.endswith("ORDER BY name")
    assert "_utf8mb4'crm' COLLATE utf8mb4_bin" in sql


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
def test_an_unsafe_collation_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported collation"):
        accounts_query(["shop"], "utf8mb4_bin'")
