"""The failover drill's steps on a target's Airflow connections, without a task context.

The DAG's tasks (``failover_tasks``) and ``drdrill failover`` (``drills/failover_run``) both call these, so they
check, redirect, measure and put the topology back the same way and write the same record. The servers are
fixed by preflight (host and port of each, as the connections said before the drill), so steps after the
redirect still know which server was which.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from drdrill.airflow.connections import (
    defined_by_environment,
    environment_variable,
    mysql_endpoint,
    object_store,
    redirect_connection,
)
from drdrill.findings import DrillFailed, Finding
from drdrill.config import Target
from drdrill.drills import failover
from drdrill.drills import failover_managed as managed
from drdrill.failover.faults import Fault, ManagedFault
from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.layout import target_root

CLEANUP = "cleanup"
RECORDED_STEPS = [*failover.STEPS[:-1], CLEANUP, failover.STEPS[-1]]


def timed(step: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """The step, returning its wall time as ``seconds`` too (the record's stage breakdown)."""
    def run() -> dict[str, Any]:
        began = time.monotonic()
        result = step()
        return {**result, "seconds": round(time.monotonic() - began, 3)}

    return run


def servers(target: Target, addresses: dict[str, Any] | None = None) -> failover.FailoverServers:
    """Admin and canary logins on both servers; at ``addresses`` (from preflight) when given, else where the connections point."""
    settings = target.failover_drill
    primary = mysql_endpoint(target.source_conn_id, f"targets[{target.name}].source_conn_id")
    # A managed service has no replica to log in to: its writer endpoint is both the old and the new primary.
    replica = primary if managed.is_managed(target) else \
        mysql_endpoint(target.replica_conn_id or "", f"targets[{target.name}].replica_conn_id")
    if addresses:
        primary = _at(primary, addresses["primary"])
        replica = _at(replica, addresses["replica"])
    canary = mysql_endpoint(settings.canary_conn_id or "", f"targets[{target.name}].failover_drill.canary_conn_id")
    replication = mysql_endpoint(settings.replication_conn_id, f"targets[{target.name}].failover_drill.replication_conn_id") \
        if settings.replication_conn_id else None
    database = target.databases[0]
    return failover.FailoverServers(
        primary=primary, replica=replica,
        canary_primary=MySQLEndpoint(primary.host, primary.port, canary.user, canary.password, database),
        canary_replica=MySQLEndpoint(replica.host, replica.port, canary.user, canary.password, database),
        replication=replication)


def _at(endpoint: MySQLEndpoint, address: dict[str, Any]) -> MySQLEndpoint:
    return MySQLEndpoint(address["host"], int(address["port"]), endpoint.user, endpoint.password,
                         endpoint.database, endpoint.socket)


def plan_drill(target: Target, work_dir: Path, key: str) -> dict[str, Any]:
    """Preflight: checks that touch nothing, where both servers are, and what will be done, in words."""
    failover.refuse_unless_allowed(target)
    if not managed.is_managed(target):  # a managed endpoint's DNS follows the writer: no connection to redirect
        refuse_source_from_environment(target)
    logins = servers(target)
    fault: Fault
    if managed.is_managed(target):
        fault = managed.managed_fault(target, logins.primary, failover.run_dir(work_dir, key))
        plan = managed.preflight(target, logins.primary, fault)
    else:
        plan = failover.preflight(target, logins)
        fault = failover.fault_for(target, logins, plan, work_dir, key)
    plan["addresses"] = {role: {"host": endpoint.host, "port": endpoint.port}
                         for role, endpoint in (("primary", logins.primary), ("replica", logins.replica))}
    plan["approval_text"] = approval_text(target, logins, fault.describe())
    return plan


def _managed(target: Target, plan: dict[str, Any], work_dir: Path, key: str) -> tuple[MySQLEndpoint, ManagedFault]:
    endpoint = servers(target, plan["addresses"]).primary
    return endpoint, managed.managed_fault(target, endpoint, failover.run_dir(work_dir, key))


def detect_failure(target: Target, plan: dict[str, Any], injected: dict[str, Any], *, work_dir: Path,
                   key: str) -> dict[str, Any]:
    """Until the primary stops answering (or, managed, the service shows the failover)."""
    timeout = target.failover_drill.detection_timeout.total_seconds()
    if managed.is_managed(target):
        endpoint, fault = _managed(target, plan, work_dir, key)
        return managed.detect(endpoint, fault, plan, injected, timeout)
    return failover.detect(servers(target, plan["addresses"]), injected, timeout)


def promote(target: Target, plan: dict[str, Any], detected: dict[str, Any], *, work_dir: Path,
            key: str) -> dict[str, Any]:
    """Promote the replica (or, managed, wait until AWS has and the endpoint takes a write)."""
    if managed.is_managed(target):
        endpoint, fault = _managed(target, plan, work_dir, key)
        return managed.wait_for_promotion(endpoint, fault, plan, detected,
                                          target.failover_drill.promotion_timeout.total_seconds())
    return failover.promote_replica(servers(target, plan["addresses"]), plan, target.failover_drill)


def verify_new_writes(target: Target, plan: dict[str, Any], detected: dict[str, Any], *, work_dir: Path,
                      key: str) -> dict[str, Any]:
    """The canary writes to the new primary (managed: through the endpoint, after the failover)."""
    directory = failover.run_dir(work_dir, key)
    if managed.is_managed(target):
        return managed.verify_writes(directory, detected["detected_at"])
    return failover.verify_writes(directory, int(plan["replica_state"]["server_id"]))


def refuse_source_from_environment(target: Target) -> None:
    """CONFIG_INVALID when the source connection comes from an environment variable the redirect cannot change."""
    if defined_by_environment(target.source_conn_id):
        name = environment_variable(target.source_conn_id)
        raise DrillFailed([Finding(
            "CONFIG_INVALID",
            f"The source connection {target.source_conn_id!r} is defined by the environment variable {name}; the "
            "drill must point it at the new primary and back, which it cannot do for other processes. Nothing was touched.",
            "Define the connection in the Airflow metastore (airflow connections add) and unset the variable.")])


def approval_text(target: Target, logins: failover.FailoverServers, fault: str) -> str:
    """Exactly what the drill will do, for a human to approve on a production target (and for a dry run)."""
    settings = target.failover_drill
    back = ("then switch roles back so the original primary takes writes again" if settings.switch_back
            else "and leave the replica as the new primary")
    hook = f" and run {settings.redirect_command}" if settings.redirect_command else ""
    head = (f"Failover drill on {'production ' if target.production else ''}target **{target.name}** "
            f"({', '.join(target.databases)}):\n\n"
            f"1. Start a canary writer (one row every 100 ms) on {logins.primary.host}:{logins.primary.port}.\n"
            f"2. Inject the fault: {fault}.\n")
    if managed.is_managed(target):
        again = "fail the cluster back to its original writer" if settings.switch_back else "leave the writer where AWS put it"
        return head + (f"3. Wait until AWS has promoted and the endpoint takes a write{hook}.\n"
                       f"4. Wait until the service is available, then {again}.\n\n"
                       "Writes through the endpoint fail from step 2 until AWS completes the failover.")
    return head + (
            f"3. Promote the replica {logins.replica.host}:{logins.replica.port} (STOP SLAVE, RESET SLAVE ALL, read_only=OFF).\n"
            f"4. Point the Airflow connection `{target.source_conn_id}` at it{hook}.\n"
            f"5. Bring the old primary back as a replica (errant transactions: {settings.errant_transactions}), {back}.\n\n"
            "Writes to the primary fail from step 2 until step 3 completes.")


def redirect_source(target: Target, plan: dict[str, Any]) -> dict[str, Any]:
    """Point the source connection (what every other drill uses) at the new primary; run the user's hook."""
    logins = servers(target, plan["addresses"])
    if managed.is_managed(target):
        return {"connection": "unchanged (the endpoint follows the writer)",
                "hook": failover.run_redirect_command(target.failover_drill.redirect_command, logins.primary, logins.primary)}
    new = plan["addresses"]["replica"]
    moved = redirect_connection(target.source_conn_id, new["host"], new["port"])
    hook = failover.run_redirect_command(target.failover_drill.redirect_command, logins.replica, logins.primary)
    return {"connection": target.source_conn_id, "was": moved["was"], "now": new, "hook": hook}


def measure_failover(target: Target, plan: dict[str, Any], results: Mapping[str, Any], *, work_dir: Path, key: str,
                     run_id: str) -> dict[str, Any]:
    """Bring the old primary back read-only, count what it had that the new primary lacks, judge RTO and RPO.

    ``results`` holds the results of inject_fault, detect, promote and verify_writes.
    """
    logins = servers(target, plan["addresses"])
    failover.fault_for(target, logins, plan, work_dir, key).undo()
    promoted = results["promote"]
    if managed.is_managed(target):
        lost = managed.count_lost(logins.primary, plan, failover.run_dir(work_dir, key), run_id,
                                  results["inject_fault"]["fault_at"])
    else:
        lost = failover.count_lost(logins, plan, promoted, failover.run_dir(work_dir, key), work_dir, run_id)
    measured = failover.judge(plan, results["inject_fault"], results.get("detect"), promoted,
                              results.get("verify_writes"), lost, target)
    return {**measured, "lost": lost}


def restore_and_reconnect(target: Target, plan: dict[str, Any], *, work_dir: Path, key: str) -> dict[str, Any]:
    """Put the topology back (errant transactions saved to S3 and handled per policy), then the source connection."""
    if managed.is_managed(target):
        _, managed_fault = _managed(target, plan, work_dir, key)
        return {**managed.restore(target, managed_fault, plan), "connection": "unchanged"}
    logins = servers(target, plan["addresses"])
    fault = failover.fault_for(target, logins, plan, work_dir, key)
    save_key = f"{target_root(target.storage.prefix, target.name)}failover/{key}/lost-transactions.binlog.sql.zst"
    restored = failover.restore_topology(target, logins, fault, store=object_store(target.storage),
                                         save_key=save_key, work_dir=work_dir, link=plan["replica_state"].get("link"))
    original = restored["roles"] == "original"
    restored["connection"] = point_source_at(target, plan["addresses"]["primary" if original else "replica"])
    if original and restored["connection"] != "unchanged":  # clients were redirected: the hook moves them back too
        restored["hook"] = failover.run_redirect_command(target.failover_drill.redirect_command, logins.primary,
                                                         logins.replica)
    return restored


def point_source_at(target: Target, address: dict[str, Any]) -> str:
    """Redirect the source connection to ``address`` unless it already points there; says what it did."""
    if not redirect_connection(target.source_conn_id, address["host"], address["port"])["changed"]:
        return "unchanged"
    return f"{target.source_conn_id} -> {address['host']}:{address['port']}"


def clean_up(target: Target, plan: dict[str, Any], *, injected: bool, fail_back_findings: Sequence[Finding],
             work_dir: Path, key: str) -> dict[str, Any]:
    """Whatever failed: stop the canary, and once a fault was injected, undo it and restore topology and connection.

    ``fail_back_findings``: what the fail_back step reported. After FAILBACK_FAILED the old primary was left out
    on purpose (policy ``stop``, or a rejoin that cannot work): cleanup leaves it too, rather than saving the
    lost transactions again and repeating the findings. Any other failure of fail_back is retried here.
    """
    stopped = failover.cleanup(failover.run_dir(work_dir, key))
    if not plan.get("addresses") or not injected:
        return {**stopped, "topology": "untouched"}
    if any(finding.code == "FAILBACK_FAILED" for finding in fail_back_findings):
        return {**stopped, "topology": "left as fail_back reported it (FAILBACK_FAILED)",
                "roles": "swapped, old primary out of replication"}
    return {**stopped, **restore_and_reconnect(target, plan, work_dir=work_dir, key=key)}


def verify_topology(target: Target, plan: dict[str, Any], *, promoted: bool, work_dir: Path, key: str) -> dict[str, Any]:
    """Roles as expected (swapped only when a promotion happened and no switch back is configured), checksums equal."""
    swapped = not target.failover_drill.switch_back and promoted
    if managed.is_managed(target):
        endpoint, fault = _managed(target, plan, work_dir, key)
        return managed.verify_consistency(endpoint, fault, plan, expect_swapped=swapped)
    return failover.verify_consistency(target, servers(target, plan["addresses"]), expect_swapped=swapped)


def headline(measured: dict[str, Any], restored: dict[str, Any] | None) -> str:
    """One line for the summary: detection, promotion, lost writes, how the topology ended."""
    if not measured:
        return "not measured"
    roles = (restored or {}).get("roles", "unknown")
    if measured.get("lost", {}).get("gtid_checked") is False:  # managed: no binlog of the old writer to read
        lost = f"lost {measured['canary_rows_lost']} canary row(s) (transactions not counted by GTID)"
    else:
        lost = (f"lost {measured['lost_transactions']} transaction(s) ({measured['lost_bytes']} bytes), "
                f"{measured['canary_rows_lost']} canary row(s)")
    lag = measured["replica_lag_seconds_before"]
    return (f"detection {measured['detection_seconds']} s, promotion {measured['promotion_seconds']} s, "
            f"client write gap {measured['client_write_gap_seconds']} s; {lost}; "
            f"lag before {'not measured' if lag is None else f'{lag} s'}; roles after: {roles}")


def record_fields(results: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The record's details and measurements, and the Slack lines, from the steps' results."""
    measured = results.get("measure") or {}
    plan = results.get("preflight") or {}
    restored = results.get("fail_back") or results.get(CLEANUP)
    lines = {}
    if measured:
        lines = {"RTO": f"{measured['rto_seconds']:.2f} s (objective {measured['rto_objective_seconds']:.0f} s)",
                 "Lost writes": f"{measured['lost_transactions']} transaction(s), {measured['canary_rows_lost']} "
                                f"canary row(s); RPO {measured['rpo_seconds']:.2f} s"}
    details = {"headline": headline(measured, restored), "fault": plan.get("fault"), "addresses": plan.get("addresses"),
               "promotion": results.get("promote"),
               "measured": {key: value for key, value in measured.items() if key not in ("findings",)},
               "fail_back": restored}
    measurements = {key: measured.get(key) for key in
                    ("rto_seconds", "rto_objective_seconds", "rpo_seconds", "rpo_objective_seconds")}
    return details, measurements, lines
