"""``drdrill.servers.accounts``: which accounts are drilled (the SQL), which grants replay, secrets redacted."""

from __future__ import annotations

import pytest

from drdrill.servers.accounts import (
    database_pattern_match,
    definers_select,
    drilled_accounts_cte,
    keeps_grant,
    needs_its_object,
    redact_account_secrets,
    script_secrets,
)

HASH = "*2B602296A79E0A8784ACC5C88D92E46588CCA3C3"
SCRIPT = (f"CREATE OR REPLACE USER `app`@`%` IDENTIFIED BY PASSWORD '{HASH}' REQUIRE SSL;\n"
          "CREATE OR REPLACE USER `ed`@`%` IDENTIFIED VIA ed25519 USING 'ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY';\n")


@pytest.mark.unit
def test_database_patterns_are_matched_with_like_so_wildcards_and_escapes_count() -> None:
    assert database_pattern_match("mysql.db.Db", ["shop", "crm"]) == "('shop' LIKE mysql.db.Db OR 'crm' LIKE mysql.db.Db)"


@pytest.mark.unit
def test_the_selection_reads_every_grant_table_and_follows_roles_both_ways() -> None:
    cte = drilled_accounts_cte(["shop"])
    assert cte.startswith("WITH RECURSIVE target_grants (User, Host) AS (SELECT User, Host FROM mysql.db WHERE")
    for table in ("mysql.tables_priv", "mysql.columns_priv", "mysql.procs_priv"):
        assert f"UNION SELECT User, Host FROM {table} WHERE {table}.Db IN ('shop')" in cte
    assert "JOIN holders h ON m.Role = h.User AND h.Host = '' WHERE m.Admin_option <> 'Y'" in cte  # who holds the role
    assert "SELECT m.Role, '' FROM mysql.roles_mapping m JOIN drilled_accounts a" in cte  # the roles they hold
    assert f"UNION {definers_select(['shop'])}), holders" in cte  # the definers of the databases' objects
    with pytest.raises(ValueError, match="no databases"):
        drilled_accounts_cte([])


@pytest.mark.unit
def test_the_definers_are_read_from_every_kind_of_object_and_only_those_without_global_privileges_kept() -> None:
    select = definers_select(["shop", "crm"])
    for view, column in (("VIEWS", "TABLE_SCHEMA"), ("ROUTINES", "ROUTINE_SCHEMA"), ("TRIGGERS", "TRIGGER_SCHEMA"),
                         ("EVENTS", "EVENT_SCHEMA")):
        assert f"SELECT DEFINER FROM information_schema.{view} WHERE {column} IN ('shop', 'crm')" in select
    assert "SUBSTRING_INDEX(d.DEFINER, '@', -1)" in select  # the host follows the last '@'
    assert select.endswith("WHERE IFNULL(JSON_VALUE(g.Priv, '$.access'), '0') = '0'")


@pytest.mark.unit
@pytest.mark.parametrize(("line", "needs"), [
    ("GRANT PROCESS ON *.* TO `app`@`%`", False),
    ("GRANT SELECT ON `shop`.* TO `app`@`%`", False),
    ("GRANT `reader` TO `viarole`@`localhost`", False),
    ("GRANT SELECT, INSERT ON `shop`.`orders` TO `app`@`%`;", True),
    ("GRANT SELECT (`id`, `total`) ON `shop`.`orders` TO `app`@`%`;", True),
    ("GRANT EXECUTE ON FUNCTION `shop`.`f` TO `reader`;", True),
])
def test_grants_on_one_table_column_or_routine_wait_for_their_object(line: str, needs: bool) -> None:
    assert needs_its_object(line) is needs


@pytest.mark.unit
@pytest.mark.parametrize(("line", "kept"), [
    ("GRANT PROCESS ON *.* TO `app`@`%`", True),
    ("GRANT SELECT ON `other`.* TO `app`@`%`", True),  # database level: replays whether or not it exists
    ("GRANT SELECT, INSERT ON `shop`.`orders` TO `app`@`%`", True),
    ("GRANT SELECT (`id`, `total`) ON `shop`.`orders` TO `app`@`%`", True),
    ("GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `reader`", True),
    ("GRANT EXECUTE ON FUNCTION `other`.`f` TO `reader`", False),  # not in the backup: its GRANT would fail
    ("GRANT SELECT ON `other`.`x` TO `app`@`%`", False),
    ("GRANT SELECT ON `sh``op`.`x` TO `app`@`%`", False),
    ("GRANT `reader` TO `viarole`@`localhost`", True),
    ("SET DEFAULT ROLE `reader` FOR `viarole`@`localhost`", True),
    ("GRANT PROXY ON ''@'%' TO 'app'@'%' WITH GRANT OPTION", False),  # granting it needs that PROXY itself
])
def test_only_grants_on_objects_the_backup_restores_are_kept(line: str, kept: bool) -> None:
    assert keeps_grant(line, ["shop"]) is kept


@pytest.mark.unit
def test_a_quoted_database_name_is_unescaped_before_it_is_compared() -> None:
    assert keeps_grant("GRANT SELECT ON `sh``op`.`x` TO `app`@`%`", ["sh`op"])


@pytest.mark.unit
def test_the_secrets_of_a_script_are_its_hashes_and_authentication_strings() -> None:
    assert script_secrets(SCRIPT) == ["ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY", HASH]


@pytest.mark.unit
@pytest.mark.parametrize("message", [
    f"ERROR 1064 (42000) at line 3: You have an error near 'IDENTIFIED BY PASSWORD '{HASH}' REQUIRE SSL' at line 1",
    f"near '{HASH[:30]}",  # the server cut its quote of the statement inside the hash
    f"near 'x' {HASH[12:]} at line 1",  # a fragment without its quote
    "ERROR 1524 (HY000) at line 2: near 'USING 'ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY'",
])
def test_a_message_quoting_a_hash_whole_or_in_part_is_redacted(message: str) -> None:
    redacted = redact_account_secrets(message, script_secrets(SCRIPT))
    assert "***" in redacted
    for secret in script_secrets(SCRIPT):
        for start in range(len(secret) - 6):
            assert secret[start:start + 6] not in redacted


@pytest.mark.unit
def test_hash_like_strings_and_secret_literals_are_redacted_without_knowing_the_script() -> None:
    redacted = redact_account_secrets(f"GRANT USAGE ON *.* TO `x`@`%` IDENTIFIED BY PASSWORD '{HASH}'; see {HASH}")
    assert HASH not in redacted and redacted == "GRANT USAGE ON *.* TO `x`@`%` IDENTIFIED BY PASSWORD '***'; see ***"


@pytest.mark.unit
def test_a_message_without_secrets_is_left_as_it_is() -> None:
    message = "ERROR 1146 (42S02) at line 9: Table 'shop.orders_archive' doesn't exist"
    assert redact_account_secrets(message, script_secrets(SCRIPT)) == message
