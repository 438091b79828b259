"""The accounts a target's application needs: which they are, and a replayable script that recreates them.

An account is drilled when it (or a role it holds) has a database-, table-, column- or routine-level grant on
one of the target's databases, or defines one of their views, routines, triggers or events (a view over a DEFINER
view cannot even be created while its definer does not exist: ERROR 1449); the roles such accounts hold come with
them, so their ``GRANT role`` replays. Accounts with global grants only (root, drdrill's own logins) are not
drilled, nor is a definer holding global privileges (root, a DBA: every server has its own administrators, and
replacing the scratch server's would lock the drill out). The script holds password hashes: it is backup data,
stored only inside the backup's objects, never in a log, message or manifest.

The script has two sections: the accounts with their global, database-level and role grants, ended by
``ACCOUNTS_CREATED``, then their grants on tables, columns and routines, ended by ``SCRIPT_TRAILER``. A logical
restore replays the first before the data (the definers must exist) and the second after it (those grants need
their objects).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pymysql

from drdrill.endpoints import MySQLEndpoint, sql_list, sql_string
from drdrill.errors import DrdrillError

ACCOUNTS_CREATED = "-- drdrill accounts created; their grants on tables, columns and routines follow"
SCRIPT_TRAILER = "-- drdrill accounts completed"
DEFINER_VIEWS = (("VIEWS", "TABLE_SCHEMA"), ("ROUTINES", "ROUTINE_SCHEMA"), ("TRIGGERS", "TRIGGER_SCHEMA"),
                 ("EVENTS", "EVENT_SCHEMA"))  # the information_schema views with a DEFINER, and their schema column
ACCESS_DENIED = {1142, 1143, 1227, 1044, 1045}  # command / column / privilege / database / login denied
# ``GRANT <privileges> ON [PROCEDURE|FUNCTION|PACKAGE [BODY]] <db>.<object> TO``: the object a SHOW GRANTS line names
_GRANT_OBJECT = re.compile(r"^GRANT .+? ON (?:(?:PROCEDURE|FUNCTION|PACKAGE BODY|PACKAGE) )?"
                           r"(?P<db>`(?:[^`]|``)*`|\*)\.(?P<object>`(?:[^`]|``)*`|\*) TO ")
# the quoted literal after the words that introduce a secret in CREATE USER / GRANT (closing quote optional:
# a server message may cut the statement short)
_SECRET_LITERAL = re.compile(r"\b(PASSWORD|USING|AS|BY)(\s*\(?\s*)'((?:[^'\\]|\\.|'')*)('|$)", re.IGNORECASE)
# SHOW GRANTS repeats the authentication on the global line; replayed, it would renew an expired password
_GRANT_AUTHENTICATION = re.compile(r" IDENTIFIED (?:BY PASSWORD '(?:[^'\\]|\\.)*'|VIA .*?)(?= REQUIRE | WITH |$)")
_HASH_LIKE = re.compile(r"\*[0-9A-Fa-f]{40}")
_FRAGMENT = re.compile(r"[^\s'`\"(),;]{6,}")


class AccountsUnreadable(DrdrillError):
    """The source's grant tables cannot be read by the backup login, so its accounts cannot be backed up."""


@dataclass(frozen=True)
class AccountsScript:
    """The SQL that recreates the drilled accounts (it holds password hashes) and how many it recreates."""

    count: int
    sql: bytes


def database_pattern_match(column: str, databases: Sequence[str]) -> str:
    """SQL true when a ``mysql.db`` pattern column (wildcards ``%``/``_``, ``\\_`` escaped) matches a database.

    The grant tables' name columns are binary (``utf8mb3_bin``), so the match is exact, as the server's own.
    """
    return "(" + " OR ".join(f"{sql_string(name)} LIKE {column}" for name in databases) + ")"


def database_in(column: str, databases: Sequence[str]) -> str:
    """SQL true when ``column`` names one of the databases exactly."""
    return f"{column} IN ({sql_list(databases)})"


def definers_select(databases: Sequence[str]) -> str:
    """``SELECT User, Host``: the definers of the databases' views, routines, triggers and events that exist as
    accounts holding no global privilege (the host follows the last '@': a user name may hold one)."""
    definers = " UNION ".join(f"SELECT DEFINER FROM information_schema.{view} WHERE {database_in(column, databases)}"
                              for view, column in DEFINER_VIEWS)
    host = "SUBSTRING_INDEX(d.DEFINER, '@', -1)"
    user = f"LEFT(d.DEFINER, CHAR_LENGTH(d.DEFINER) - CHAR_LENGTH({host}) - 1)"
    return (f"SELECT g.User, g.Host FROM ({definers}) AS d JOIN mysql.global_priv g"
            f" ON g.User = CONVERT({user} USING utf8mb3) COLLATE utf8mb3_bin"
            f" AND g.Host = CONVERT({host} USING utf8mb3) COLLATE utf8mb3_bin"
            " WHERE IFNULL(JSON_VALUE(g.Priv, '$.access'), '0') = '0'")


def drilled_accounts_cte(databases: Sequence[str]) -> str:
    """``WITH RECURSIVE ... drilled_accounts (User, Host)``: the accounts and roles drilled for ``databases``.

    ``target_grants``: who holds a grant on the databases or defines one of their objects; ``holders``: they, and
    who holds such a role (not only WITH ADMIN OPTION, which is what CREATE ROLE gives its creator);
    ``drilled_accounts``: those, and every role they hold. Roles have the empty host.
    """
    if not databases:
        raise ValueError("no databases to select accounts for")
    exact = {table: database_in(f"{table}.Db", databases)
             for table in ("mysql.tables_priv", "mysql.columns_priv", "mysql.procs_priv")}
    return (
        "WITH RECURSIVE target_grants (User, Host) AS ("
        f"SELECT User, Host FROM mysql.db WHERE {database_pattern_match('mysql.db.Db', databases)}"
        + "".join(f" UNION SELECT User, Host FROM {table} WHERE {condition}" for table, condition in exact.items())
        + f" UNION {definers_select(databases)}"
        + "), holders (User, Host) AS ("
        "SELECT User, Host FROM target_grants"
        " UNION SELECT m.User, m.Host FROM mysql.roles_mapping m JOIN holders h ON m.Role = h.User AND h.Host = ''"
        " WHERE m.Admin_option <> 'Y'"
        "), drilled_accounts (User, Host) AS ("
        "SELECT User, Host FROM holders"
        " UNION SELECT m.Role, '' FROM mysql.roles_mapping m JOIN drilled_accounts a"
        " ON m.User = a.User AND m.Host = a.Host"
        ")\n"
    )


def list_drilled_accounts(endpoint: MySQLEndpoint, databases: Sequence[str]) -> list[tuple[str, str, bool]]:
    """``(user, host, is_role)`` of each account drilled for ``databases``, roles first; AccountsUnreadable
    when the login may not read the grant tables."""
    query = (drilled_accounts_cte(databases)
             + "SELECT a.User, a.Host, u.is_role = 'Y' FROM drilled_accounts a"
             " JOIN mysql.user u ON u.User = a.User AND u.Host = a.Host"
             " ORDER BY u.is_role = 'Y' DESC, a.User, a.Host")
    try:
        return [(str(user), str(host), bool(is_role)) for user, host, is_role in endpoint.fetch_all(query)]
    except pymysql.err.MySQLError as exc:
        raise unreadable(endpoint, exc) from exc


def unreadable(endpoint: MySQLEndpoint, exc: pymysql.err.MySQLError) -> AccountsUnreadable:
    """The error for a grant-table read that failed, with the grant that fixes a missing privilege."""
    code = exc.args[0] if exc.args else None
    fix = (f"Grant the backup login SELECT on the grant tables (GRANT SELECT ON mysql.* TO {endpoint.user}; "
           "global SELECT also covers it), or set accounts: false for this target to leave its accounts out.")
    what = "may not read" if code in ACCESS_DENIED else "failed reading"
    return AccountsUnreadable(f"The backup login {endpoint.describe()} {what} the grant tables (mysql.db, "
                              f"mysql.tables_priv, mysql.columns_priv, mysql.procs_priv, mysql.roles_mapping, "
                              f"mysql.user): error {code}.", fix)


def drop_drilled_accounts(endpoint: MySQLEndpoint, databases: Sequence[str]) -> int:
    """Drop the accounts drilled for ``databases`` from a scratch server (never the login doing it), so the
    source's password hashes do not outlive the drill there; returns how many were dropped."""
    connection = endpoint.connect()
    dropped = 0
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT CURRENT_USER()")
            myself = _one_value(cursor)
            for user, host, is_role in list_drilled_accounts(endpoint, databases):
                if is_role:
                    cursor.execute("DROP ROLE IF EXISTS %s", (user,))
                elif f"{user}@{host}" != myself:
                    cursor.execute("DROP USER IF EXISTS %s@%s", (user, host))
                else:
                    continue
                dropped += 1
    finally:
        connection.close()
    return dropped


def keeps_grant(line: str, databases: Sequence[str]) -> bool:
    """Whether a SHOW GRANTS line replays on a restore: global, database-level and role grants always; grants on
    a table or routine only in the target's databases (the backup holds no others, so their GRANT would fail);
    PROXY grants never (granting one needs that very PROXY privilege, which the scratch login lacks)."""
    if line.startswith("GRANT PROXY ON "):
        return False
    match = _GRANT_OBJECT.match(line)
    if match is None or "*" in (match["db"], match["object"]):
        return True
    return match["db"][1:-1].replace("``", "`") in databases


def needs_its_object(line: str) -> bool:
    """Whether a grant line names one table, column or routine (it can only replay once that object exists)."""
    match = _GRANT_OBJECT.match(line)
    return match is not None and "*" not in (match["db"], match["object"])


def read_accounts_script(endpoint: MySQLEndpoint, databases: Sequence[str]) -> AccountsScript:
    """The replayable script of the drilled accounts: roles, then users (SHOW CREATE USER, hash included), then
    every account's kept grants (SHOW GRANTS) but those on objects, ``ACCOUNTS_CREATED``, the grants on objects,
    ``SCRIPT_TRAILER``."""
    accounts = list_drilled_accounts(endpoint, databases)
    creates: list[str] = []
    grants: list[str] = []
    connection = endpoint.connect()
    try:
        with connection.cursor() as cursor:
            for user, host, is_role in accounts:
                if is_role:
                    creates.append(f"CREATE OR REPLACE ROLE {sql_string(user)};")
                    cursor.execute("SHOW GRANTS FOR %s", (user,))
                else:
                    cursor.execute("SHOW CREATE USER %s@%s", (user, host))
                    creates.append(re.sub(r"^CREATE USER ", "CREATE OR REPLACE USER ", _one_value(cursor)) + ";")
                    cursor.execute("SHOW GRANTS FOR %s@%s", (user, host))
                grants += [_GRANT_AUTHENTICATION.sub("", line) + ";" for (line,) in cursor.fetchall()
                           if keeps_grant(line, databases)]
    except pymysql.err.MySQLError as exc:
        raise unreadable(endpoint, exc) from exc
    finally:
        connection.close()
    header = f"-- drdrill: the accounts holding grants on {', '.join(databases)} ({len(accounts)})"
    object_grants = [grant for grant in grants if needs_its_object(grant)]
    account_grants = [grant for grant in grants if not needs_its_object(grant)]
    text = "\n".join([header, *creates, *account_grants, ACCOUNTS_CREATED, *object_grants, SCRIPT_TRAILER]) + "\n"
    return AccountsScript(count=len(accounts), sql=text.encode())


def _one_value(cursor: pymysql.cursors.Cursor) -> str:
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the statement returned no row")
    return str(row[0])


def script_secrets(script: str) -> list[str]:
    """The secret literals (password hashes, authentication strings) a script holds, longest first."""
    found = {match[3] for match in _SECRET_LITERAL.finditer(script) if match[3]}
    return sorted(found, key=len, reverse=True)


def redact_account_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any secret: the literals after PASSWORD/USING/AS/BY, hash-like strings, and any run of
    six or more characters found inside one of ``secrets`` (a server message may quote only part of one)."""
    known = [secret for secret in secrets if secret]
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _SECRET_LITERAL.sub(lambda match: f"{match[1]}{match[2]}'***{match[4]}", text)
    text = _HASH_LIKE.sub("***", text)
    return _FRAGMENT.sub(lambda match: "***" if any(match[0] in secret for secret in known) else match[0], text)
