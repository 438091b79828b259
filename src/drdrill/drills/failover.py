"""The failover drill: break the primary, promote the replica, measure, put the topology back, prove it.

preflight → start_canary → inject_fault → detect → promote → redirect → verify_writes → measure → fail_back
→ verify_consistency; ``restore_topology`` is the cleanup that runs whatever happened (idempotent).

Each step is a function of explicit inputs and returns a JSON-ready dict, so the DAG's tasks, the CLI and
the tests run the same code. Times are epoch seconds so they survive XCom between task processes.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from drdrill.findings import DrillFailed, Finding
from drdrill.config import FailoverDrill, Target
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.drills.layouts import binlog_layout
from drdrill.drills.failover_managed import is_managed
from drdrill.failover import canary, errant
from drdrill.failover.hooks import run_hook
from drdrill.failover.faults import Fault, build_fault, local_process
from drdrill.failover.topology import (
    ServerState,
    compare_checksums,
    portable_link,
    promote,
    quoted,
    read_only_locks,
    reconnect_replica,
    rejoin_as_replica,
    set_read_only,
    state_of,
    switchover,
    transactions_behind,
    wait_caught_up,
    wait_until_down,
)
from drdrill.servers.identity import read_identity
from drdrill.storage.objectstore import ObjectStore

STEPS = ["preflight", "start_canary", "inject_fault", "detect", "promote", "redirect", "verify_writes", "measure",
         "fail_back", "verify_consistency"]
CANARY_INTERVAL = 0.1
REJOIN_TIMEOUT = 120.0
REDIRECT_TIMEOUT = 300.0
_GLOBAL_GRANT = re.compile(r"GRANT (.+?) ON \*\.\* TO ", re.IGNORECASE)
# What SUPER still implies in MariaDB 10.11 among the privileges below.
SUPER_INCLUDES = frozenset({"REPLICATION SLAVE ADMIN", "READ_ONLY ADMIN", "BINLOG ADMIN", "BINLOG REPLAY"})
REQUIRED_PRIVILEGES = ("REPLICATION SLAVE ADMIN", "READ_ONLY ADMIN", "REPLICATION SLAVE", "RELOAD", "CREATE", "INSERT",
                       "UPDATE", "DELETE", "BINLOG ADMIN", "BINLOG REPLAY", "SLAVE MONITOR", "BINLOG MONITOR")


@dataclass(frozen=True)
class FailoverServers:
    """The two servers as the drill's admin login sees them, and the canary's data-only login on each."""

    primary: MySQLEndpoint
    replica: MySQLEndpoint
    canary_primary: MySQLEndpoint
    canary_replica: MySQLEndpoint
    replication: MySQLEndpoint | None = None  # only its user and password: what replicas log in as

    @property
    def replication_login(self) -> MySQLEndpoint:
        """The login a replica uses towards its primary: ``replication``, else the drill's own login."""
        return self.replication or self.primary


def run_dir(work_dir: Path, key: str) -> Path:
    """Files of one drill run (canary acks, logs)."""
    return work_dir / "failover" / key


def fault_for(target: Target, servers: FailoverServers, plan: dict[str, Any], work_dir: Path, key: str) -> Fault:
    """The configured injector, with the facts preflight gathered."""
    return build_fault(target.failover_drill, servers.primary, plan.get("process") or {}, run_dir(work_dir, key))


# -- preflight -------------------------------------------------------------------------------------


def refuse_unless_allowed(target: Target) -> None:
    """CONFIG_INVALID unless the target's config allows failover drills and names a replica (or AWS fails over)."""
    if not target.allow_failover_drill or not (target.replica_conn_id or is_managed(target)):
        raise DrillFailed([Finding(
            "CONFIG_INVALID",
            f"Target {target.name!r} does not allow failover drills (allow_failover_drill: "
            f"{str(target.allow_failover_drill).lower()}, replica_conn_id: {target.replica_conn_id or 'none'}); "
            "nothing was touched.",
            "Set allow_failover_drill: true and replica_conn_id for this target if a failover drill is really wanted.")])


def preflight(target: Target, servers: FailoverServers) -> dict[str, Any]:
    """Read-only checks before anything is touched: roles, replication, lag, privileges, how to break and restore."""
    refuse_unless_allowed(target)
    settings = target.failover_drill
    try:
        primary, replica = state_of(servers.primary), state_of(servers.replica)
        identities = {"primary": read_identity(servers.primary).to_dict(), "replica": read_identity(servers.replica).to_dict()}
    except pymysql.MySQLError as exc:
        raise DrillFailed([Finding("TARGET_UNAVAILABLE", f"Preflight could not read a server: {exc}.")]) from None
    privileges = privilege_findings(servers, settings.fault)
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
    if not replica.read_only:
        findings.append(Finding("REPLICATION_BROKEN", f"{where} is writable (read_only=OFF): writes to it would "
                                "diverge from the primary.", "SET GLOBAL read_only=ON on the replica (and in its my.cnf)."))
    return findings


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
    held: set[str] = set()
    for grant in grants:
        match = _GLOBAL_GRANT.match(grant.strip())
        if match:
            held |= {name.strip().upper() for name in match.group(1).split(",")}
    return held


# -- the failover ----------------------------------------------------------------------------------


def start_canary(servers: FailoverServers, plan: dict[str, Any], run_id: str, directory: Path,
                 interval: float = CANARY_INTERVAL) -> dict[str, Any]:
    """Create the canary table (through the admin login) and start writing; waits for the first row."""
    table = plan["canary_table"]
    servers.primary.fetch_all(canary.create_table_sql(table))
    started = canary.start_canary([servers.canary_primary, servers.canary_replica], table, run_id, interval, directory)
    first = canary.wait_first_ack(directory)
    if first.server_id != plan["primary_state"]["server_id"]:
        canary.stop_canary(directory)
        raise DrdrillError(f"the canary's first row went to server_id {first.server_id}, not the primary.",
                           "the replica accepts the canary's writes: make it read_only and keep SUPER/READ_ONLY "
                           "ADMIN away from failover_drill.canary_conn_id.")
    return {**started, "first_ack_at": first.at}


def inject(fault: Fault) -> dict[str, Any]:
    """Break the primary."""
    return {"fault": fault.name, "description": fault.describe(), "fault_at": fault.inject()}


def detect(servers: FailoverServers, injected: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Probe the primary until it stops answering."""
    detected_at = wait_until_down(servers.primary, timeout)
    return {"detected_at": detected_at, "detection_seconds": round(max(0.0, detected_at - injected["fault_at"]), 3)}


def promote_replica(servers: FailoverServers, plan: dict[str, Any], settings: FailoverDrill) -> dict[str, Any]:
    """PROMOTION_FAILED unless the replica applied what it had, stopped replicating and took a write."""
    try:
        return promote(servers.replica, settings.promotion_timeout.total_seconds(), plan["canary_table"])
    except (DrdrillError, pymysql.MySQLError) as exc:
        problem = exc.problem if isinstance(exc, DrdrillError) else str(exc)
        fix = exc.fix if isinstance(exc, DrdrillError) else ""
        raise DrillFailed([Finding("PROMOTION_FAILED", f"Promoting {servers.replica.describe()} failed: {problem}",
                                   fix or "")]) from None


def run_redirect_command(command: str | None, new_primary: MySQLEndpoint, old_primary: MySQLEndpoint) -> dict[str, Any]:
    """Run the user's redirect hook (ProxySQL, DNS, ...) with the new and old primary in its environment."""
    if not command:
        return {"command": None}
    env = {"DRDRILL_NEW_PRIMARY_HOST": new_primary.host, "DRDRILL_NEW_PRIMARY_PORT": str(new_primary.port),
           "DRDRILL_OLD_PRIMARY_HOST": old_primary.host, "DRDRILL_OLD_PRIMARY_PORT": str(old_primary.port)}
    seconds = run_hook("redirect_command", command, timeout=REDIRECT_TIMEOUT, env=env,
                       consequence=f"clients may still use {old_primary.host}:{old_primary.port}.")
    return {"command": shlex.split(command)[0], "new_primary": f"{new_primary.host}:{new_primary.port}", "seconds": seconds}


def verify_writes(directory: Path, new_primary_id: int, timeout: float = 30) -> dict[str, Any]:
    """Wait until the canary has a row acknowledged by the new primary: clients can write again."""
    ack = canary.wait_for_ack(directory, lambda ack: ack.server_id == new_primary_id, timeout)
    if ack is not None:
        return {"first_canary_on_new_primary_at": ack.at, "seq": ack.seq}
    raise DrillFailed([Finding("PROMOTION_FAILED", f"The canary could not write to the new primary (server_id "
                               f"{new_primary_id}) within {timeout:.0f} s after promotion.",
                               "check failover_drill.canary_conn_id's grants on the replica and its read_only setting.")])


# -- measuring ------------------------------------------------------------------------------------


def count_lost(servers: FailoverServers, plan: dict[str, Any], promoted: dict[str, Any], directory: Path,
               work_dir: Path, run_id: str) -> dict[str, Any]:
    """Lost writes, by GTID (the old primary's binlog vs what the new primary had) and by canary row."""
    old = state_of(servers.primary)
    since = promoted["applied"]
    lost = errant.list_lost(servers.primary, since, work_dir) if transactions_behind(old.gtid_binlog_pos, since) else []
    old_id = plan["primary_state"]["server_id"]
    acked = [ack for ack in canary.read_acks(directory / "acks.txt") if ack.server_id == old_id]
    table = plan["canary_table"]
    present = {int(row[0]) for row in servers.replica.fetch_all(
        f"SELECT seq FROM {quoted(table)} WHERE run_id = %s AND server_id = %s", (run_id, old_id))}
    return {"old_primary_gtid": old.gtid_binlog_pos, "new_primary_had": since,
            "lost_transactions": [item.to_dict() for item in lost], "lost_transaction_count": len(lost),
            "lost_bytes": sum(item.bytes for item in lost), **canary.losses(acked, present)}


def judge(plan: dict[str, Any], injected: dict[str, Any], detected: dict[str, Any] | None,
          promoted: dict[str, Any], writes: dict[str, Any] | None, lost: dict[str, Any],
          target: Target) -> dict[str, Any]:
    """RTO, RPO and their verdicts: RTO_EXCEEDED, WRITES_LOST."""
    fault_at = injected["fault_at"]
    rto = promoted["writable_at"] - fault_at
    rpo = _rpo_seconds(lost, fault_at)
    findings = []
    rto_limit, rpo_limit = target.objectives.rto.total_seconds(), target.objectives.rpo.total_seconds()
    if rto > rto_limit:
        findings.append(Finding("RTO_EXCEEDED", f"The new primary accepted its first write {rto:.1f} s after the "
                                f"fault; the RTO objective is {rto_limit:.0f} s."))
    if (lost["lost_transaction_count"] or lost["canary_rows_lost"]) and rpo > rpo_limit:
        findings.append(Finding("WRITES_LOST", f"{lost['lost_transaction_count']} transaction(s) "
                                f"({lost['lost_bytes']} bytes) and {lost['canary_rows_lost']} canary row(s) committed "
                                f"on the old primary never reached the new one: {rpo:.1f} s of writes lost, more than "
                                f"the RPO objective of {rpo_limit:.0f} s.",
                                evidence={"gtids": [item["gtid"] for item in lost["lost_transactions"]][:50]}))
    return {
        "rto_seconds": round(rto, 3), "rto_objective_seconds": rto_limit,
        "rpo_seconds": round(rpo, 3), "rpo_objective_seconds": rpo_limit,
        "detection_seconds": (detected or {}).get("detection_seconds"),
        "promotion_seconds": promoted["promotion_seconds"],
        "client_write_gap_seconds": round(writes["first_canary_on_new_primary_at"] - fault_at, 3) if writes else None,
        "replica_lag_seconds_before": plan.get("lag_seconds"),
        "replica_lag_transactions_before": plan.get("lag_transactions"),
        "lost_transactions": lost["lost_transaction_count"], "lost_bytes": lost["lost_bytes"],
        "canary_rows_lost": lost["canary_rows_lost"],
        "findings": [finding.to_dict() for finding in findings],
    }


def _rpo_seconds(lost: dict[str, Any], fault_at: float) -> float:
    """The window of acknowledged writes lost: newest lost write − newest write that survived (0 if none lost)."""
    if not lost["lost_transaction_count"] and not lost["canary_rows_lost"]:
        return 0.0
    newest_lost = lost["last_lost_write_at"] or fault_at
    for item in lost["lost_transactions"]:
        newest_lost = max(newest_lost, _epoch(item["committed_at"]))
    survived = lost["last_surviving_write_at"]
    if survived is None:
        return newest_lost - min(_epoch(item["committed_at"]) for item in lost["lost_transactions"]) \
            if lost["lost_transactions"] else 0.0
    return max(0.0, newest_lost - survived)


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


# -- putting it back ---------------------------------------------------------------------------------


def restore_topology(target: Target, servers: FailoverServers, fault: Fault, *, store: ObjectStore, save_key: str,
                     work_dir: Path, link: Mapping[str, str | int] | None = None) -> dict[str, Any]:
    """Bring the topology back to primary → replica, whatever state the drill left it in. Idempotent.

    The old primary is restarted if down. If the replica was never promoted, or never took a write as primary,
    it replicates from the primary again. If it did, the old primary rejoins it by GTID (errant transactions
    saved and handled per policy), catches up, and (with ``switch_back``) the roles are swapped back by a
    planned switchover. ``link`` is the replica's CHANGE MASTER options before the drill (``ServerState.link``):
    the replica gets them back, the old primary's link takes what of them is not a file on the replica's host.
    """
    actions: list[str] = []
    findings: list[Finding] = []
    undone = fault.undo()
    if undone["restarted"]:
        actions.append(f"old primary restarted ({undone['how']})")
    primary, replica = state_of(servers.primary), state_of(servers.replica)
    if replica.replicates_from(primary, servers.primary):
        _resume(servers, actions)
        return {"actions": actions, "roles": "original", "findings": []}
    if not (primary.is_replica or replica.is_replica or replica.wrote_beyond_replication):
        # Its promotion failed or was cut short before it took a write: it simply follows the primary again.
        rejoin_as_replica(servers.replica, servers.primary, servers.replication_login, replica.gtid_slave_pos,
                          timeout=60, link=link)
        actions.append("the replica never took a write as primary: it replicates from the original primary again")
        _resume(servers, actions)
        return {"actions": actions, "roles": "original", "findings": []}
    if not primary.is_replica:
        findings += _rejoin_old_primary(target, servers, primary, replica, store, save_key, work_dir, actions,
                                        portable_link(link or {}))
    wait_caught_up(servers.primary, servers.replica, REJOIN_TIMEOUT)
    if not target.failover_drill.switch_back:
        return {"actions": actions, "roles": "swapped", "findings": [f.to_dict() for f in findings]}
    switchover(servers.replica, servers.primary, servers.replication_login, REJOIN_TIMEOUT, link=link)
    actions.append("roles switched back: original primary writable, replica replicating from it")
    return {"actions": actions, "roles": "original", "findings": [f.to_dict() for f in findings]}


def _resume(servers: FailoverServers, actions: list[str]) -> None:
    """The replica follows the primary: the primary takes writes, the replica replicates them read-only, caught up."""
    set_read_only(servers.replica, True)
    set_read_only(servers.primary, False)  # first: a replica that cannot resume must not keep the primary read-only
    actions.append("original primary writable again")
    if reconnect_replica(servers.replica, REJOIN_TIMEOUT):
        actions.append("replication on the replica restarted")
    wait_caught_up(servers.replica, servers.primary, REJOIN_TIMEOUT)


def _rejoin_old_primary(target: Target, servers: FailoverServers, primary: ServerState, replica: ServerState,
                        store: ObjectStore, save_key: str, work_dir: Path, actions: list[str],
                        link: Mapping[str, str | int]) -> list[Finding]:
    """Old primary → replica of the promoted one; ERRANT_TRANSACTIONS handled per policy, FAILBACK_FAILED otherwise."""
    since = replica.gtid_slave_pos  # what the promoted server had applied from the old primary (kept by RESET SLAVE ALL)
    extra = transactions_behind(primary.gtid_binlog_pos, since)
    findings: list[Finding] = []
    resume_at = primary.gtid_binlog_pos
    if extra:
        lost = errant.list_lost(servers.primary, since, work_dir)
        saved = errant.save_lost(servers.primary, since, store, save_key, work_dir)
        policy = target.failover_drill.errant_transactions
        message = (f"The old primary has {extra} transaction(s) the new primary never received "
                   f"({', '.join(item.gtid for item in lost[:5])}{' …' if len(lost) > 5 else ''}); saved to {saved}.")
        if policy != "flashback":
            raise DrillFailed([Finding("ERRANT_TRANSACTIONS", message + " Policy 'stop': left as they are."),
                               Finding("FAILBACK_FAILED", "The old primary cannot replicate from the new one while it "
                                       "holds errant transactions (error 1236); it was left read-only and out of replication.",
                                       f"Re-apply what is needed from {saved} on the new primary, then roll them back on "
                                       "the old one (mariadb-binlog --flashback) or rebuild it from a backup.")])
        try:
            archive_notes = errant.flashback(servers.primary, since, work_dir, store=store, layout=binlog_layout(target))
        except DrdrillError as exc:
            raise DrillFailed([Finding("ERRANT_TRANSACTIONS", message + " Policy 'flashback' could not roll them back."),
                               Finding("FAILBACK_FAILED", f"The old primary was left read-only and out of replication: "
                                       f"{exc.problem}", exc.fix or "")]) from None
        actions.append(f"{extra} errant transaction(s) saved to {saved} and rolled back on the old primary")
        actions += [f"archiving the old primary's binlogs found {note.sentence()} (the binlog archive drill reports it)"
                    for note in archive_notes]
        findings.append(Finding("ERRANT_TRANSACTIONS", message + " Policy 'flashback': rolled back on the old primary.",
                                evidence={"saved": saved, "gtids": [item.gtid for item in lost][:50]}))
        resume_at = since
    try:
        rejoin_as_replica(servers.primary, servers.replica, servers.replication_login, resume_at, timeout=60,
                          link=link)
    except DrdrillError as exc:
        raise DrillFailed(findings + [Finding("FAILBACK_FAILED", f"The old primary could not replicate from the new "
                                              f"one: {exc.problem}", exc.fix or "")]) from None
    actions.append("old primary replicating from the new primary by GTID")
    return findings


def verify_consistency(target: Target, servers: FailoverServers, expect_swapped: bool) -> dict[str, Any]:
    """TOPOLOGY_NOT_RESTORED unless the roles are as expected, replication runs, and per-table checksums agree."""
    primary, replica = (servers.replica, servers.primary) if expect_swapped else (servers.primary, servers.replica)
    p_state, r_state = state_of(primary), state_of(replica)
    problems = []
    if p_state.read_only or p_state.is_replica:
        problems.append(f"{primary.describe()} should be the writable primary (read_only={p_state.read_only}, "
                        f"replicating from {p_state.replicating_from})")
    if not r_state.replication_running or not r_state.replicates_from(p_state, primary):
        problems.append(f"{replica.describe()} should replicate from {primary.port} (from {r_state.replicating_from}, "
                        f"IO {r_state.io_running}, SQL {r_state.sql_running}, {r_state.last_io_error or r_state.last_sql_error})")
    if not r_state.read_only:
        problems.append(f"{replica.describe()} is writable")
    checksums: dict[str, Any] = {}
    if not problems:
        checksums = compare_checksums(primary, replica, target.databases)
        if checksums["differing"] or not checksums["reached"]:
            problems.append(f"tables differ between primary and replica: {', '.join(checksums['differing']) or '-'}"
                            f"{'' if checksums['reached'] else ' (the replica did not reach the snapshot)'}")
    if problems:
        raise DrillFailed([Finding("TOPOLOGY_NOT_RESTORED", "; ".join(problems) + ".")],
                          outcome={"checksums": {k: v for k, v in checksums.items() if k in ("tables", "differing")}})
    return {"tables_compared": checksums["tables"], "position": checksums["position"],
            "primary": primary.describe(), "replica": replica.describe()}


def cleanup(directory: Path) -> dict[str, Any]:
    """Stop the canary (its acks stay for the record)."""
    with contextlib.suppress(FileNotFoundError):
        return {"canary_stopped": canary.stop_canary(directory)}
    return {"canary_stopped": False}
