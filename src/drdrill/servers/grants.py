"""The least privileges of each login drdrill uses, declared once.

The sandbox creates its logins with exactly these lists, the backup and failover preflights check them, and the
README's "Logins and their least privileges" block is :func:`readme_sql` (``tests/unit/servers/test_grants.py``
compares the two).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The source login (source_conn_id, and replica_conn_id): backups with every engine (mariadb-dump, mydumper,
# mariabackup), the catch-up and binlog archive (REPLICATION SLAVE), the drills' reads. The global SELECT includes
# the grant tables (mysql.*), which backing up the target's accounts (accounts: true) reads.
BACKUP_GRANTS = ["SELECT, SHOW VIEW, TRIGGER, EVENT, RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, "
                 "REPLICATION SLAVE, REPLICATION CLIENT ON *.*"]
# With SELECT on the target's databases only instead of *.*, accounts: true also needs this.
ACCOUNTS_GRANTS = ["SELECT ON mysql.*"]
# What the failover drill's login (the source login, on the primary and the replica) needs besides: promote/rejoin
# (REPLICATION SLAVE ADMIN, READ_ONLY ADMIN), roll back errant transactions unlogged (BINLOG REPLAY, BINLOG ADMIN,
# DML), the canary table (CREATE, INSERT), fault: shutdown (SHUTDOWN), replication state (SLAVE MONITOR).
FAILOVER_GRANTS = ["INSERT, UPDATE, DELETE, CREATE, SHUTDOWN, REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, "
                   "BINLOG REPLAY, BINLOG ADMIN, SLAVE MONITOR ON *.*"]
# The login replicas connect with (failover_drill.replication_conn_id), on both servers.
REPLICATION_GRANTS = ["REPLICATION SLAVE ON *.*"]
# Application users, the canary (failover_drill.canary_conn_id) and the heartbeat writer get DML (and EXECUTE for the
# routine) only: GRANT ALL would include READ ONLY ADMIN, letting them write to a read_only replica and break GTID
# strict replication.
APP_GRANTS = ["SELECT, INSERT, UPDATE, DELETE, EXECUTE ON shop.*"]
# A scratch server's admin (drdrill's own scratch mariadbd, or restore_drill.scratch_conn_id's login on a server of
# its own): it creates and drops the databases and replays the target's accounts, granting what they hold.
SCRATCH_GRANTS = ["ALL PRIVILEGES ON *.*"]
SCRATCH_GRANT_OPTION = " WITH GRANT OPTION"

# MariaDB 10.5+ names REPLICATION CLIENT BINLOG MONITOR (SHOW GRANTS shows the new name).
_ALIASES = {"REPLICATION CLIENT": "BINLOG MONITOR"}
_GRANT_LINE = re.compile(r"^GRANT (.+?) ON (\S+) TO ", re.IGNORECASE)


@dataclass(frozen=True)
class Login:
    """One login of the README's grant block: the config key naming its connection, and its grants."""

    keys: str
    why: str
    user: str
    grants: tuple[str, ...]
    suffix: str = ""


LOGINS = (
    Login("source_conn_id and replica_conn_id", "backups (every engine), binlog archive, the drills' reads",
          "drdrill_backup", tuple(BACKUP_GRANTS)),
    Login("the same login, when SELECT is granted on the target's databases only", "accounts: true reads the "
          "grant tables", "drdrill_backup", tuple(ACCOUNTS_GRANTS)),
    Login("the same login on the primary and the replica, when allow_failover_drill: true",
          "promote, rejoin, roll back lost writes, the fault", "drdrill_backup", tuple(FAILOVER_GRANTS)),
    Login("failover_drill.replication_conn_id, on both servers", "the replicas' link", "drdrill_repl",
          tuple(REPLICATION_GRANTS)),
    Login("failover_drill.canary_conn_id (and the heartbeat writer), per database", "data only: never SUPER or "
          "READ ONLY ADMIN", "shop_app", tuple(APP_GRANTS)),
    Login("restore_drill.scratch_conn_id, on a server of its own", "creates the databases, replays the accounts",
          "drdrill_scratch", tuple(SCRATCH_GRANTS), SCRATCH_GRANT_OPTION),
)


def readme_sql() -> str:
    """The README's grant block: a comment naming each login's config key and why, then its GRANT statements."""
    lines = []
    for login in LOGINS:
        lines.append(f"-- {login.keys}: {login.why}")
        lines += [f"GRANT {grant} TO '{login.user}'@'%'{login.suffix};" for grant in login.grants]
    return "\n".join(lines)


def privileges_of(grant: str) -> list[str]:
    """The privileges one ``"PRIV, PRIV ON db.*"`` grant names, in order, upper case, aliases resolved."""
    names = [name.strip().upper() for name in grant.rsplit(" ON ", 1)[0].split(",")]
    return list(dict.fromkeys(_ALIASES.get(name, name) for name in names))


def held_privileges(show_grants: Iterable[str]) -> dict[str, set[str]]:
    """What ``SHOW GRANTS`` lines give, per object (``*.*``, ``shop.*`` unquoted): upper-case names."""
    held: dict[str, set[str]] = {}
    for line in show_grants:
        match = _GRANT_LINE.match(line.strip())
        if match:
            on = match.group(2).replace("`", "")
            held.setdefault(on, set()).update(privileges_of(f"{match.group(1)} ON {on}"))
    return held


# Privileges MariaDB grants on a database too; the others exist on *.* only.
DATABASE_LEVEL = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "SHOW VIEW", "TRIGGER", "EVENT",
                            "LOCK TABLES", "EXECUTE"})


def missing_privileges(show_grants: Iterable[str], grants: Iterable[str], databases: Sequence[str]) -> list[str]:
    """The privileges of ``grants`` (``*.*`` ones) that the ``SHOW GRANTS`` lines lack: a database-level one may be
    held on each of ``databases`` instead of ``*.*``; ``ALL PRIVILEGES`` on ``*.*`` holds everything."""
    held = held_privileges(show_grants)
    on_all = held.get("*.*", set())
    if "ALL PRIVILEGES" in on_all:
        return []
    wanted = dict.fromkeys(name for grant in grants for name in privileges_of(grant))

    def on_each_database(name: str) -> bool:
        return name in DATABASE_LEVEL and all({name, "ALL PRIVILEGES"} & held.get(f"{db}.*", set()) for db in databases)

    return [name for name in wanted if name not in on_all and not on_each_database(name)]
