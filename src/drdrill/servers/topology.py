"""Replication topology of a primary and its replica: who is primary, how far behind, promote, rejoin, switch over."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pymysql

from drdrill.endpoints import MySQLEndpoint, one_row
from drdrill.errors import DrdrillError
from drdrill.servers.gtid import transactions_behind
from drdrill.servers.replication import (
    attach_replica,
    link_options,
    replication_status,
    wait_replica_caught_up,
    wait_threads_running,
)

# Server shutdown in progress, connection refused, lost during query, server gone away, can't connect.
DOWN_ERRNOS = frozenset({1053, 2002, 2003, 2006, 2013, 2055})


@dataclass(frozen=True)
class ServerState:
    """What one server says about its replication role at one moment."""

    server_id: int
    read_only: bool
    gtid_binlog_pos: str
    gtid_slave_pos: str
    gtid_io_pos: str
    replicating_from: str | None
    io_running: str | None
    sql_running: str | None
    seconds_behind: int | None
    last_io_error: str
    last_sql_error: str
    master_server_id: int = 0  # of the server the IO thread last connected to; 0 before it ever did
    link: dict[str, str | int] = field(default_factory=dict)  # its CHANGE MASTER options: TLS, connect retry

    @property
    def is_replica(self) -> bool:
        """True when the server has replication configured (running or not)."""
        return self.replicating_from is not None

    @property
    def replication_running(self) -> bool:
        """Both replication threads run."""
        return self.io_running == "Yes" and self.sql_running == "Yes"

    @property
    def wrote_beyond_replication(self) -> bool:
        """Its binlog holds transactions beyond what it replicated: it took writes as a primary."""
        return transactions_behind(self.gtid_binlog_pos, self.gtid_slave_pos) > 0

    def replicates_from(self, primary: ServerState, address: MySQLEndpoint) -> bool:
        """True when replication is configured towards ``primary`` (running or not).

        By the server_id the IO thread saw: hosts differ in form (names, addresses) and production servers
        share port 3306. Before the IO thread ever connected, by the port of ``address`` alone.
        """
        if self.master_server_id:
            return self.master_server_id == primary.server_id
        return (self.replicating_from or "").endswith(f":{address.port}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_state(conn: pymysql.connections.Connection) -> ServerState:
    """The replication state of the server behind ``conn``."""
    with conn.cursor() as cur:
        cur.execute("SELECT @@server_id, @@read_only, @@gtid_binlog_pos, @@gtid_slave_pos")
        server_id, read_only, binlog_pos, slave_pos = one_row(cur)
    status = replication_status(conn)
    behind = status.get("Seconds_Behind_Master")
    return ServerState(
        server_id=int(server_id), read_only=bool(int(read_only)), gtid_binlog_pos=str(binlog_pos or ""),
        gtid_slave_pos=str(slave_pos or ""), gtid_io_pos=str(status.get("Gtid_IO_Pos") or ""),
        replicating_from=f"{status['Master_Host']}:{status['Master_Port']}" if status else None,
        io_running=status.get("Slave_IO_Running"), sql_running=status.get("Slave_SQL_Running"),
        seconds_behind=int(behind) if behind is not None else None,
        last_io_error=str(status.get("Last_IO_Error") or ""), last_sql_error=str(status.get("Last_SQL_Error") or ""),
        master_server_id=int(status.get("Master_Server_Id") or 0), link=link_options(status),
    )


def state_of(endpoint: MySQLEndpoint) -> ServerState:
    """``read_state`` on a short-lived connection."""
    with contextlib.closing(endpoint.connect(connect_timeout=5)) as conn:
        return read_state(conn)


def read_only_locks(endpoint: MySQLEndpoint, wait_seconds: int = 1) -> list[str]:
    """What holds the server read-locked besides ``read_only``: FLUSH TABLES WITH READ LOCK, a backup stage, a
    replication SQL thread stuck on a lock. Empty when nothing does. Changes nothing (needs RELOAD)."""
    held = []
    with contextlib.closing(endpoint.connect(connect_timeout=5)) as conn, conn.cursor() as cur:
        cur.execute(f"SET SESSION lock_wait_timeout = {int(wait_seconds)}")
        if _blocked(cur, "FLUSH LOCAL TABLES"):  # waits for a global read lock, not for tables in use
            held.append("a session holds FLUSH TABLES WITH READ LOCK")
        if _blocked(cur, "BACKUP STAGE START"):  # only one backup stage at a time
            held.append("another session is inside BACKUP STAGE (a mariabackup run?)")
        else:
            cur.execute("BACKUP STAGE END")
        state = _sql_thread_state(conn)
        if "lock" in state.lower():  # "Waiting for backup lock", "... table metadata lock"; a moment is normal
            time.sleep(wait_seconds)
            if _sql_thread_state(conn) == state:
                held.append(f"the replication SQL thread has been stuck for over {wait_seconds} s: {state!r}")
    return held


def _sql_thread_state(conn: pymysql.connections.Connection) -> str:
    return str(replication_status(conn).get("Slave_SQL_Running_State") or "")


def _blocked(cur: Any, statement: str) -> bool:
    """Run ``statement``; True when it timed out waiting for a lock another session holds."""
    try:
        cur.execute(statement)
    except pymysql.MySQLError as exc:
        if exc.args and exc.args[0] == 1205:
            return True
        raise
    return False


def is_down(endpoint: MySQLEndpoint, timeout: float = 1.0) -> bool:
    """True when the server refuses or drops a connection (or does not answer within ``timeout``)."""
    try:
        with contextlib.closing(endpoint.connect(connect_timeout=timeout, read_timeout=timeout)) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
        return False
    except pymysql.MySQLError as exc:
        code = exc.args[0] if exc.args else None
        if code in DOWN_ERRNOS:
            return True
        raise


def wait_until_down(endpoint: MySQLEndpoint, timeout: float, interval: float = 0.05) -> float:
    """Probe until the server is down; the epoch time of the first failed probe. DrdrillError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_down(endpoint, timeout=min(1.0, max(interval, 0.2))):
            return time.time()
        time.sleep(interval)
    raise DrdrillError(f"{endpoint.describe()} still answers {timeout:.0f} s after the fault was injected.",
                       "check that the fault injector acts on the right server (failover_drill.fault).")


def wait_until_up(endpoint: MySQLEndpoint, timeout: float) -> None:
    """Wait until the server answers ``SELECT 1``."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            if not is_down(endpoint):
                return
        except pymysql.MySQLError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise DrdrillError(f"{endpoint.describe()} did not come back within {timeout:.0f} s {last}".strip() + ".",
                       "read the server's error log; start it by hand (or fix failover_drill.restart_command).")


def promote(endpoint: MySQLEndpoint, apply_timeout: float, probe_write: str) -> dict[str, Any]:
    """Make the replica the primary: apply what it received, stop and forget replication, go writable, prove a write.

    ``probe_write`` is the statement that proves it takes writes.

    Returns the positions and the epoch time the first write committed. Raises DrdrillError naming the
    statement that failed.
    """
    began = time.time()
    with contextlib.closing(endpoint.connect(connect_timeout=5)) as conn, conn.cursor() as cur:
        cur.execute(f"SET SESSION lock_wait_timeout = {max(1, int(apply_timeout))}")  # a held lock fails, not hangs
        before = read_state(conn)
        received = before.gtid_io_pos or before.gtid_slave_pos
        cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (received, apply_timeout))
        if one_row(cur)[0] != 0:
            now = read_state(conn)
            raise DrdrillError(
                f"the replica did not apply the transactions it had received ({received!r}) within "
                f"{apply_timeout:.0f} s; it applied {now.gtid_slave_pos!r} (SQL thread {now.sql_running!r}, "
                f"last SQL error {now.last_sql_error!r}).",
                "repair the SQL thread error, or raise failover_drill.promotion_timeout if it is only slow.",
            )
        applied_at = time.time()
        _execute(cur, "STOP SLAVE")
        _execute(cur, "RESET SLAVE ALL")
        _execute(cur, "SET GLOBAL read_only = OFF")
        _execute(cur, probe_write)
        writable_at = time.time()
        cur.execute("SELECT @@gtid_slave_pos, @@gtid_binlog_pos")
        slave_pos, binlog_pos = one_row(cur)
    return {"received": received, "applied": str(slave_pos or ""), "binlog_pos": str(binlog_pos or ""),
            "started_at": began, "applied_at": applied_at, "writable_at": writable_at,
            "apply_seconds": round(applied_at - began, 3), "promotion_seconds": round(writable_at - began, 3)}


def _execute(cur: Any, statement: str) -> None:
    try:
        cur.execute(statement)
    except pymysql.MySQLError as exc:
        raise DrdrillError(f"{statement.split(' (')[0]!r} failed on the replica: {exc}.",
                           "grant the drill's login the privileges the README lists for failover drills "
                           "(REPLICATION SLAVE ADMIN, READ_ONLY ADMIN or SUPER), and check the table named.") from None


def set_read_only(endpoint: MySQLEndpoint, read_only: bool) -> None:
    """``SET GLOBAL read_only``."""
    endpoint.fetch_all(f"SET GLOBAL read_only = {'ON' if read_only else 'OFF'}")


def rejoin_as_replica(replica: MySQLEndpoint, primary: MySQLEndpoint, replication: MySQLEndpoint,
                      gtid_slave_pos: str | None, timeout: float = 30,
                      link: Mapping[str, str | int] | None = None) -> None:
    """Make ``replica`` read-only and replicate from ``primary`` (as ``replication``'s user, over ``link``)."""
    target = MySQLEndpoint(host=primary.host, port=primary.port, user=replication.user, password=replication.password)
    with contextlib.closing(replica.connect(connect_timeout=5)) as conn:
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL read_only = ON")
        attach_replica(conn, target, gtid_slave_pos, f"replica {replica.describe()}", timeout, link)


def portable_link(link: Mapping[str, str | int]) -> dict[str, str | int]:
    """The options of ``link`` that mean the same on another host: TLS on or off, cipher, connect retry.

    Certificate, key and CA files are paths on the replica's host, which the old primary may not have.
    """
    return {name: value for name, value in link.items()
            if name in ("MASTER_SSL", "MASTER_SSL_CIPHER", "MASTER_CONNECT_RETRY")}


def reconnect_replica(replica: MySQLEndpoint, timeout: float) -> bool:
    """Restart replication threads that are not both running, now rather than at the IO thread's next connect retry.

    After its primary was down the IO thread waits MASTER_CONNECT_RETRY (60 s by default) between attempts.
    Returns whether the threads were restarted; raises DrdrillError (replication left stopped) if they do not run.
    """
    with contextlib.closing(replica.connect(connect_timeout=5)) as conn:
        status = replication_status(conn)
        if status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes":
            return False
        with conn.cursor() as cur:
            cur.execute("STOP SLAVE")
            cur.execute("START SLAVE")
        wait_threads_running(conn, f"replica {replica.describe()}", timeout)
    return True


def wait_caught_up(replica: MySQLEndpoint, primary: MySQLEndpoint, timeout: float) -> None:
    """Block until ``replica`` applied everything in ``primary``'s binlog."""
    with contextlib.closing(replica.connect()) as replica_conn, contextlib.closing(primary.connect()) as primary_conn:
        wait_replica_caught_up(replica_conn, primary_conn, timeout, replica_name=replica.describe())


def switchover(old: MySQLEndpoint, new: MySQLEndpoint, replication: MySQLEndpoint, timeout: float,
               link: Mapping[str, str | int] | None = None) -> dict[str, Any]:
    """Planned role swap without data loss: ``old`` (primary) becomes the replica of ``new`` (its caught-up replica).

    ``link``: the CHANGE MASTER options (TLS, connect retry) ``old`` replicates with.
    """
    began = time.time()
    set_read_only(old, True)
    try:
        wait_caught_up(new, old, timeout)
        with contextlib.closing(new.connect(connect_timeout=5)) as conn, conn.cursor() as cur:
            cur.execute("STOP SLAVE")
            cur.execute("RESET SLAVE ALL")
            cur.execute("SET GLOBAL read_only = OFF")
    except Exception:
        try:
            promoted = not state_of(new).is_replica
        except pymysql.MySQLError:
            promoted = False  # unreachable: it takes no writes either
        if not promoted:  # give the writes back to the primary rather than leave them to nobody
            set_read_only(old, False)
        raise
    writable_at = time.time()
    # The old primary continues from its own binlog: everything in it is also in the new primary's.
    rejoin_as_replica(old, new, replication, gtid_slave_pos=state_of(old).gtid_binlog_pos, timeout=timeout,
                      link=link)
    return {"read_only_seconds": round(writable_at - began, 3), "seconds": round(time.time() - began, 3)}
