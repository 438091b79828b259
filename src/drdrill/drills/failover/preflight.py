"""The self-managed failover's preflight: read-only checks of roles, replication, lag, privileges and the fault."""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterable
from typing import Any

import pymysql

from drdrill.config import FailoverDrill, Target
from drdrill.drills.failover import canary
from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.failover.path import refuse_unless_allowed
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import TLSFailed
from drdrill.findings import DrillFailed, Finding, tls_finding
from drdrill.servers.faults import local_process
from drdrill.servers.grants import FAILOVER_GRANTS, held_privileges, privileges_of
from drdrill.servers.gtid import transactions_behind
from drdrill.servers.identity import read_identity
from drdrill.servers.topology import ServerState, read_only_locks, state_of

# What SUPER still implies in MariaDB 10.11 among the privileges below.
SUPER_INCLUDES = frozenset({"REPLICATION SLAVE ADMIN", "READ_ONLY ADMIN", "BINLOG ADMIN", "BINLOG REPLAY"})
# FAILOVER_GRANTS (SHUTDOWN only for fault: shutdown) and what it uses of BACKUP_GRANTS: rejoin (REPLICATION SLAVE),
# reset the binlog (RELOAD), read positions (BINLOG MONITOR).
REQUIRED_PRIVILEGES = tuple(name for name in privileges_of(FAILOVER_GRANTS[0]) if name != "SHUTDOWN") + \
    ("REPLICATION SLAVE", "RELOAD", "BINLOG MONITOR")


def preflight(target: Target, servers: FailoverServers) -> dict[str, Any]:
    """Read-only checks before anything is touched: roles, replication, lag, privileges, how to break and restore."""
    refuse_unless_allowed(target)
    settings = target.failover_drill
    try:
        primary, replica = state_of(servers.primary), state_of(servers.replica)
        identities = {"primary": read_identity(servers.primary).to_dict(), "replica": read_identity(servers.replica).to_dict()}
    except TLSFailed as exc:
        raise DrillFailed([tls_finding("Preflight's login", exc)]) from None
    except pymysql.MySQLError as exc:
        raise DrillFailed([Finding("TARGET_UNAVAILABLE", f"Preflight could not read a server: {exc}.")]) from None
    privileges = privilege_findings(servers, settings.fault) + canary_tls_findings(servers)
    # A lock is often why the replica lags: probe for one whenever the login may (RELOAD), not only when all is well.
    findings = (lock_findings(servers.replica) if not privileges else []) + \
        replication_findings(primary, replica, servers, settings) + privileges + \
        replication_login_findings(servers, tls=bool(replica.link.get("MASTER_SSL")))
    if settings.errant_transactions == "flashback":
        findings += flashback_findings(servers)
    process = local_process(servers.primary) if settings.fault in ("kill", "shutdown") else None
    if settings.fault == "kill" and process is None:
        findings.append(Finding("CONFIG_INVALID", f"fault: kill needs the primary's mariadbd on this machine; "
                                f"{servers.primary.describe()} is not (or its pid file is unreadable).",
                                "Run the drill on the database host, or use fault: shutdown with restart_command."))
    if settings.fault == "shutdown" and process is None and not settings.restart_command:
        findings.append(Finding("CONFIG_INVALID", "fault: shutdown on a server elsewhere needs a way to start it again.",
                                "Set failover_drill.restart_command (e.g. ssh db1 systemctl start mariadb)."))
    plan = {"primary_state": primary.to_dict(), "replica_state": replica.to_dict(), "identities": identities,
            "process": process, "fault": settings.fault, "lag_seconds": replica.seconds_behind,
            "lag_transactions": transactions_behind(primary.gtid_binlog_pos, replica.gtid_slave_pos),
            "canary_table": canary.canary_table(target.databases[0]), "checked_at": time.time()}
    if findings:
        raise DrillFailed(findings, outcome=plan)
    return plan


def replication_findings(primary: ServerState, replica: ServerState, servers: FailoverServers,
                         settings: FailoverDrill) -> list[Finding]:
    """REPLICATION_BROKEN / REPLICA_LAGGING / PROMOTION_FAILED-in-waiting, from the two states."""
    where = servers.replica.describe()
    if not replica.is_replica:
        return [Finding("REPLICATION_BROKEN", f"{where} is not a replica (SHOW SLAVE STATUS is empty).")]
    if not replica.replicates_from(primary, servers.primary):
        return [Finding("REPLICATION_BROKEN", f"{where} replicates from {replica.replicating_from}, "
                        f"not from the primary {servers.primary.host}:{servers.primary.port}.",
                        "Point replica_conn_id at the primary's replica, or fix the topology.")]
    if not replica.replication_running:
        return [Finding("REPLICATION_BROKEN", f"Replication on {where} is not running (IO {replica.io_running}, "
                        f"SQL {replica.sql_running}; last IO error {replica.last_io_error!r}, last SQL error "
                        f"{replica.last_sql_error!r}). Nothing was touched.")]
    findings = []
    if primary.read_only:
        findings.append(Finding("REPLICATION_BROKEN", f"The primary {servers.primary.describe()} is read-only: "
                                "it is not the writable primary (an earlier failover left roles swapped?).",
                                "Check which server is the primary and fix source_conn_id / replica_conn_id."))
    limit = settings.max_replica_lag.total_seconds()
    if replica.seconds_behind is None or replica.seconds_behind > limit:
        findings.append(Finding("REPLICA_LAGGING", f"{where} is {replica.seconds_behind} s behind the primary "
                                f"(Seconds_Behind_Master); failover_drill.max_replica_lag is {limit:.0f} s. Nothing was touched.",
                                evidence={"seconds_behind": replica.seconds_behind, "limit_seconds": limit}))
    else:
        findings += receipt_findings(primary, servers.replica, limit)
    if not replica.read_only:
        findings.append(Finding("REPLICATION_BROKEN", f"{where} is writable (read_only=OFF): writes to it would "
                                "diverge from the primary.", "SET GLOBAL read_only=ON on the replica (and in its my.cnf)."))
    return findings


def receipt_findings(primary: ServerState, replica: MySQLEndpoint, limit: float) -> list[Finding]:
    """REPLICA_LAGGING unless the replica receives, within ``limit`` seconds, all the primary had committed.

    Slave_IO_Running and Seconds_Behind_Master cannot see a silent link: after a partition the IO thread waits
    slave_net_timeout (60 s by default) before it notices, and with nothing to apply it is 0 s behind.
    """
    deadline = time.monotonic() + limit
    while True:
        state = state_of(replica)
        missing = min(transactions_behind(primary.gtid_binlog_pos, state.gtid_io_pos),
                      transactions_behind(primary.gtid_binlog_pos, state.gtid_slave_pos))
        if not missing:
            return []
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return [Finding("REPLICA_LAGGING", f"{replica.describe()} has not received {missing} transaction(s) the primary "
                    f"had committed {limit:.0f} s ago (primary at {primary.gtid_binlog_pos}, replica received "
                    f"{state.gtid_io_pos or state.gtid_slave_pos or 'nothing'}), though its IO thread says "
                    f"{state.io_running} and Seconds_Behind_Master {state.seconds_behind}: the link from the primary "
                    "is silent (a network partition?) or too slow. Nothing was touched.",
                    "Check the network between the primary and the replica (the replica's IO thread notices a dead "
                    "link only after slave_net_timeout), then re-run the drill.",
                    evidence={"transactions_not_received": missing, "limit_seconds": limit})]


def lock_findings(replica: MySQLEndpoint) -> list[Finding]:
    """REPLICATION_BROKEN when something besides read_only holds the replica locked (promotion would hang on it)."""
    held = read_only_locks(replica)
    if not held:
        return []
    return [Finding("REPLICATION_BROKEN", f"{replica.describe()} is locked: {'; '.join(held)}. Its SQL thread cannot "
                    "apply, and promotion would wait for the lock. Nothing was touched.",
                    "Find the session in SHOW PROCESSLIST on the replica (a backup tool, a manual FLUSH TABLES WITH "
                    "READ LOCK) and let it finish or KILL it, then run the drill again.")]


def flashback_findings(servers: FailoverServers) -> list[Finding]:
    """CONFIG_INVALID unless both servers log whole row images, which ``mariadb-binlog --flashback`` reverses."""
    findings = []
    for role, endpoint in (("primary", servers.primary), ("replica", servers.replica)):
        binlog_format, row_image = endpoint.fetch_all("SELECT @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image")[0]
        if (str(binlog_format).upper(), str(row_image).upper()) != ("ROW", "FULL"):
            findings.append(Finding(
                "CONFIG_INVALID",
                f"errant_transactions: flashback needs binlog_format=ROW and binlog_row_image=FULL, but the {role} "
                f"({endpoint.describe()}) has {binlog_format} and {row_image}: lost writes could not be rolled back "
                "there after a failover. Nothing was touched.",
                "Set binlog_format=ROW and binlog_row_image=FULL on both servers (my.cnf and SET GLOBAL), "
                "or use errant_transactions: stop."))
    return findings


def canary_tls_findings(servers: FailoverServers) -> list[Finding]:
    """TLS_VERIFY_FAILED for each server the canary's login (with the ``ssl`` extra) cannot reach over verified TLS;
    any other login failure is left to start_canary, which reports it with the canary's log."""
    findings = []
    for role, login in (("primary", servers.canary_primary), ("replica", servers.canary_replica)):
        if login.tls is None:
            continue
        try:
            with contextlib.closing(login.connect(connect_timeout=5)):
                pass
        except TLSFailed as exc:
            findings.append(tls_finding(f"The canary login to the {role}", exc))
        except pymysql.MySQLError:
            continue  # start_canary's to report
    return findings


def replication_login_findings(servers: FailoverServers, *, tls: bool) -> list[Finding]:
    """CONFIG_INVALID unless the replication login can log in to both servers (either may become the primary).

    ``tls``: log in over TLS, as the replica's link does (a login may REQUIRE SSL); certificates are not checked
    here, the replica checks them with its own files.
    """
    login = servers.replication
    if login is None:
        return []
    findings = []
    for role, endpoint in (("primary", servers.primary), ("replica", servers.replica)):
        try:
            probe = MySQLEndpoint(endpoint.host, endpoint.port, login.user, login.password)
            with contextlib.closing(probe.connect(connect_timeout=5, **({"ssl": _unchecked_tls()} if tls else {}))):
                pass
        except pymysql.MySQLError as exc:
            findings.append(Finding("CONFIG_INVALID", f"The replication login {login.user!r} "
                                    f"(failover_drill.replication_conn_id) cannot log in to the {role} "
                                    f"{endpoint.host}:{endpoint.port}{' over TLS' if tls else ''}: {exc}. "
                                    "After a failover the other server replicates through it.",
                                    f"Create {login.user} with REPLICATION SLAVE ON *.* on both servers "
                                    "(with SET sql_log_bin=0, so its password stays out of the binlog)."))
    return findings


def _unchecked_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def privilege_findings(servers: FailoverServers, fault: str) -> list[Finding]:
    """CONFIG_INVALID when the drill's login lacks, on ``*.*``, what promotion, rejoin, flashback and the fault need."""
    required = (*REQUIRED_PRIVILEGES, "SHUTDOWN") if fault == "shutdown" else REQUIRED_PRIVILEGES
    findings = []
    for role, endpoint in (("primary", servers.primary), ("replica", servers.replica)):
        held = global_privileges(str(row[0]) for row in endpoint.fetch_all("SHOW GRANTS FOR CURRENT_USER()"))
        if "ALL PRIVILEGES" in held:
            continue
        if "SUPER" in held:
            held |= SUPER_INCLUDES
        missing = [privilege for privilege in required if privilege not in held]
        if missing:
            findings.append(Finding("CONFIG_INVALID", f"The drill's login on the {role} ({endpoint.describe()}) lacks "
                                    f"{', '.join(missing)} ON *.*.",
                                    f"GRANT {', '.join(required)} ON *.* TO {endpoint.user}; "
                                    "(the README lists why each is needed)."))
    return findings


def global_privileges(grants: Iterable[str]) -> set[str]:
    """The privileges ``GRANT ... ON *.* TO ...`` lines give, as upper-case names."""
    return held_privileges(grants).get("*.*", set())
