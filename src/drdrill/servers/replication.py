"""GTID replication between local servers: attach a replica, read its status, wait for it to catch up."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

import pymysql

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.servers.mariadb import LocalMariaDB

log = logging.getLogger(__name__)

# CHANGE MASTER options a link may carry, with the SHOW SLAVE STATUS column each is read from.
LINK_OPTIONS = {
    "MASTER_SSL": "Master_SSL_Allowed", "MASTER_SSL_CA": "Master_SSL_CA_File",
    "MASTER_SSL_CAPATH": "Master_SSL_CA_Path", "MASTER_SSL_CERT": "Master_SSL_Cert", "MASTER_SSL_KEY": "Master_SSL_Key",
    "MASTER_SSL_CIPHER": "Master_SSL_Cipher", "MASTER_SSL_CRL": "Master_SSL_Crl", "MASTER_SSL_CRLPATH": "Master_SSL_Crlpath",
    "MASTER_SSL_VERIFY_SERVER_CERT": "Master_SSL_Verify_Server_Cert", "MASTER_CONNECT_RETRY": "Connect_Retry",
}
_FLAGS = frozenset({"MASTER_SSL", "MASTER_SSL_VERIFY_SERVER_CERT"})

# Access denied (1045), host not allowed (1130), no REPLICATION SLAVE grant (1227), unknown host (2005),
# account locked (4151).
_PERMANENT_IO_ERRNOS = frozenset({1045, 1130, 1227, 2005, 4151})


def start_gtid_replica(
    replica: LocalMariaDB,
    primary: MySQLEndpoint,
    gtid_slave_pos: str | None = None,
    timeout: float = 30,
    link: Mapping[str, str | int] | None = None,
) -> None:
    """Point ``replica`` at ``primary`` with MASTER_USE_GTID=slave_pos and wait until both threads run (``link``:
    further CHANGE MASTER options, as ``attach_replica`` takes them)."""
    with contextlib.closing(replica.root_connect()) as conn:
        attach_replica(conn, primary, gtid_slave_pos, f"replica {replica.spec.name!r}", timeout, link)


def attach_replica(
    conn: pymysql.connections.Connection,
    primary: MySQLEndpoint,
    gtid_slave_pos: str | None,
    who: str,
    timeout: float = 30,
    link: Mapping[str, str | int] | None = None,
) -> None:
    """On the server behind ``conn``: replicate from ``primary`` by GTID (slave_pos), wait until both threads run.

    ``link``: further CHANGE MASTER options by name (``MASTER_SSL``, ``MASTER_SSL_CA``, ``MASTER_CONNECT_RETRY``
    …, see ``LINK_OPTIONS``); the connect retry is 1 s unless it says otherwise.
    """
    with conn.cursor() as cur:
        cur.execute("STOP SLAVE")
        cur.execute("RESET SLAVE ALL")
        if gtid_slave_pos is not None:
            cur.execute("SET GLOBAL gtid_slave_pos = %s", (gtid_slave_pos,))
        # CHANGE MASTER takes string literals only: escape with the connection, never log the statement.
        options = "".join(f", {name}={_literal(conn, value)}"
                          for name, value in {"MASTER_CONNECT_RETRY": 1, **_checked(link or {})}.items())
        statement = (
            f"CHANGE MASTER TO MASTER_HOST={conn.escape(primary.host)}, MASTER_PORT={int(primary.port)}, "
            f"MASTER_USER={conn.escape(primary.user)}, MASTER_PASSWORD={conn.escape(primary.password)}, "
            f"MASTER_USE_GTID=slave_pos{options}"
        )
        try:
            cur.execute(statement)
        except pymysql.MySQLError as exc:
            message = _redact(str(exc), primary.password, conn.escape(primary.password))
            raise DrdrillError(
                f"CHANGE MASTER on {who} to {primary.describe()} failed: {message}.",
                "check the primary's host, port and user; "
                "stop replication on the replica by hand if it is stuck.",
            ) from None
        cur.execute("START SLAVE")
        log.info("%s replicating from %s", who, primary.describe())
    wait_threads_running(conn, f"{who} of {primary.describe()}", timeout)


def link_options(status: Mapping[str, Any]) -> dict[str, str | int]:
    """The CHANGE MASTER options (TLS, connect retry) behind a ``SHOW SLAVE STATUS`` row; empty for no row."""
    options: dict[str, str | int] = {}
    for name, column in LINK_OPTIONS.items():
        value = status.get(column)
        if name in _FLAGS:
            if value is not None:
                options[name] = int(value == "Yes")
        elif name == "MASTER_CONNECT_RETRY":
            if value is not None:
                options[name] = int(value)
        elif value:
            options[name] = str(value)
    return options


def _checked(link: Mapping[str, str | int]) -> Mapping[str, str | int]:
    unknown = set(link) - set(LINK_OPTIONS)
    if unknown:
        raise DrdrillError(f"Unknown replication link option(s) {sorted(unknown)}.",
                           f"use only {', '.join(LINK_OPTIONS)}.")
    return link


def _literal(conn: pymysql.connections.Connection, value: str | int) -> str:
    return str(int(value)) if isinstance(value, int) else conn.escape(value)


def replication_status(conn: pymysql.connections.Connection) -> dict[str, Any]:
    """``SHOW SLAVE STATUS`` as a dict; empty when the server is not a replica."""
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW SLAVE STATUS")
        row = cur.fetchone()
    return dict(row) if row else {}


def wait_replica_caught_up(
    replica_conn: pymysql.connections.Connection,
    primary_conn: pymysql.connections.Connection,
    timeout: float,
    replica_name: str = "replica",
) -> None:
    """Block until the replica has applied everything in the primary's binlog (MASTER_GTID_WAIT)."""
    with primary_conn.cursor() as cur:
        cur.execute("SELECT @@gtid_binlog_pos")
        row = cur.fetchone()
    target = row[0] if row else ""
    with replica_conn.cursor() as cur:
        cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (target, timeout))
        row = cur.fetchone()
        if row and row[0] == 0:
            return
        cur.execute("SELECT @@gtid_slave_pos")
        applied = cur.fetchone()
    status = replication_status(replica_conn)
    raise DrdrillError(
        f"{replica_name} did not reach the primary's GTID position {target!r} within {timeout:.0f} s "
        f"(applied {applied[0] if applied else '?'!r}; IO={status.get('Slave_IO_Running')!r}, "
        f"SQL={status.get('Slave_SQL_Running')!r}, last IO error {status.get('Last_IO_Error')!r}, "
        f"last SQL error {status.get('Last_SQL_Error')!r}).",
        "check SHOW SLAVE STATUS on the replica; raise the timeout if it is only slow.",
    )


def wait_threads_running(conn: pymysql.connections.Connection, who: str, timeout: float) -> None:
    """Wait until Slave_IO_Running and Slave_SQL_Running are Yes; raise with the last errors otherwise."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = replication_status(conn)
        io_state, sql_state = status.get("Slave_IO_Running"), status.get("Slave_SQL_Running")
        if io_state == "Yes" and sql_state == "Yes":
            return
        if io_state == "No" or sql_state == "No":
            break  # a stopped thread does not restart by itself: fail now, not at the deadline
        if status.get("Last_IO_Errno") in _PERMANENT_IO_ERRNOS:
            break  # the IO thread keeps retrying, but a wrong password or grant will not heal
        time.sleep(0.1)
    with conn.cursor() as cur:
        cur.execute("STOP SLAVE")  # do not leave it retrying in the background after we report failure
    raise DrdrillError(
        f"{who}: replication threads did not start (IO={status.get('Slave_IO_Running')!r}, "
        f"SQL={status.get('Slave_SQL_Running')!r}); last IO error {status.get('Last_IO_Error')!r}, "
        f"last SQL error {status.get('Last_SQL_Error')!r}.",
        "fix the cause named above (replication user and grants, network, GTID position), then START SLAVE "
        "on the replica; replication is left stopped.",
    )


def _redact(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
