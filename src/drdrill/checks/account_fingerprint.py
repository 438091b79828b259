"""The accounts' fingerprint: each drilled account's attributes and grants on the target's databases, as text.

The ``accounts`` kind of ``schema_fingerprint``: run on the source at backup time (into the manifest) and in
the restored server (by the suite), returning ``name`` (``'app'@'%'``, ``role 'reader'``), ``definition`` (one
property per line: the account's attributes, then its grants, sorted) and ``digest``. Secrets and what a
restore itself rewrites stay out: no authentication string, no password change time (only whether the
password is expired), no grantor or grant timestamp, no server version the account was written by.
"""

from __future__ import annotations

from collections.abc import Sequence

from drdrill.checks.sql import fingerprint_select
from drdrill.servers.accounts import database_in, database_pattern_match, drilled_accounts_cte

NEWLINE = "'\n'"  # a real newline inside the literal: the same under NO_BACKSLASH_ESCAPES
DATABASE_PRIVILEGES = (  # mysql.db's privilege columns, as GRANT names them
    ("Select_priv", "SELECT"), ("Insert_priv", "INSERT"), ("Update_priv", "UPDATE"), ("Delete_priv", "DELETE"),
    ("Create_priv", "CREATE"), ("Drop_priv", "DROP"), ("Grant_priv", "GRANT OPTION"),
    ("References_priv", "REFERENCES"), ("Index_priv", "INDEX"), ("Alter_priv", "ALTER"),
    ("Create_tmp_table_priv", "CREATE TEMPORARY TABLES"), ("Lock_tables_priv", "LOCK TABLES"),
    ("Create_view_priv", "CREATE VIEW"), ("Show_view_priv", "SHOW VIEW"), ("Create_routine_priv", "CREATE ROUTINE"),
    ("Alter_routine_priv", "ALTER ROUTINE"), ("Execute_priv", "EXECUTE"), ("Event_priv", "EVENT"),
    ("Trigger_priv", "TRIGGER"), ("Delete_history_priv", "DELETE HISTORY"),
)
ATTRIBUTES = (  # (label, mysql.global_priv JSON path, value when absent): what CREATE USER / ALTER USER set
    ("plugin", "$.plugin", "-"), ("global privileges (bits)", "$.access", "0"), ("locked", "$.account_locked", "0"),
    ("password lifetime (days, -1 default)", "$.password_lifetime", "-1"), ("ssl type", "$.ssl_type", "0"),
    ("ssl cipher", "$.ssl_cipher", ""), ("x509 issuer", "$.x509_issuer", ""), ("x509 subject", "$.x509_subject", ""),
    ("max queries per hour", "$.max_questions", "0"), ("max updates per hour", "$.max_updates", "0"),
    ("max connections per hour", "$.max_connections", "0"), ("max user connections", "$.max_user_connections", "0"),
    ("max statement time", "$.max_statement_time", "0"), ("default role", "$.default_role", ""),
)


def _attribute_block() -> str:
    """The attribute lines (``label: value``) of ``g``, a mysql.global_priv row, as one block."""
    lines = [f"CONCAT('{label}: ', IFNULL(JSON_VALUE(g.Priv, '{path}'), '{absent}'))"
             for label, path, absent in ATTRIBUTES]
    lines.insert(1, "CONCAT('other plugins: ', IFNULL(JSON_EXTRACT(g.Priv, '$.auth_or[*].plugin'), '-'))")
    lines.append("CONCAT('password expired: ', IF(JSON_VALUE(g.Priv, '$.password_last_changed') = '0', 'yes', 'no'))")
    return f"CONCAT_WS({NEWLINE}, " + ", ".join(lines) + ")"


def _database_privileges(alias: str) -> str:
    return "CONCAT_WS(', ', " + ", ".join(f"IF({alias}.{column} = 'Y', '{name}', NULL)"
                                           for column, name in DATABASE_PRIVILEGES) + ")"


def accounts_query(databases: Sequence[str], collation: str) -> str:
    """``name``, ``definition``, ``digest`` of every account (and role) drilled for ``databases``."""
    same_account = "ON p.User = a.User AND p.Host = a.Host"
    lines = [
        f"SELECT a.name, 0 AS part, {_attribute_block()} AS line FROM accounts a"
        " JOIN mysql.global_priv g ON g.User = a.User AND g.Host = a.Host",
        f"SELECT a.name, 1, CONCAT('grant on database ', p.Db, ': ', {_database_privileges('p')}) FROM accounts a"
        f" JOIN mysql.db p {same_account} WHERE {database_pattern_match('p.Db', databases)}",
        "SELECT a.name, 2, CONCAT('grant on table ', p.Db, '.', p.Table_name, ': ', p.Table_priv) FROM accounts a"
        f" JOIN mysql.tables_priv p {same_account} WHERE p.Table_priv <> '' AND {database_in('p.Db', databases)}",
        "SELECT a.name, 3, CONCAT('grant on column ', p.Db, '.', p.Table_name, '.', p.Column_name, ': ', p.Column_priv)"
        f" FROM accounts a JOIN mysql.columns_priv p {same_account} WHERE {database_in('p.Db', databases)}",
        "SELECT a.name, 4, CONCAT('grant on ', LOWER(p.Routine_type), ' ', p.Db, '.', p.Routine_name, ': ', p.Proc_priv)"
        f" FROM accounts a JOIN mysql.procs_priv p {same_account} WHERE {database_in('p.Db', databases)}",
        "SELECT a.name, 5, CONCAT('role granted: ', p.Role, IF(p.Admin_option = 'Y', ' with admin option', ''))"
        f" FROM accounts a JOIN mysql.roles_mapping p {same_account}",
    ]
    account_lines = (
        "(" + drilled_accounts_cte(databases).rstrip("\n")
        + ", accounts (User, Host, name) AS (SELECT d.User, d.Host, IF(u.is_role = 'Y', CONCAT('role ', QUOTE(d.User)),"
        " CONCAT(QUOTE(d.User), '@', QUOTE(d.Host))) FROM drilled_accounts d"
        " JOIN mysql.user u ON u.User = d.User AND u.Host = d.Host) "
        + " UNION ALL ".join(lines) + ") AS account_lines GROUP BY account_lines.name"
    )
    definition = (f"GROUP_CONCAT(account_lines.line ORDER BY account_lines.part, CONVERT(account_lines.line USING "
                  f"utf8mb4) COLLATE {collation} SEPARATOR {NEWLINE})")
    return fingerprint_select("account_lines.name", definition, account_lines, collation)
