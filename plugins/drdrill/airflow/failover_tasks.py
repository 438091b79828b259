"""Bodies of the failover drill DAG's tasks: connections → endpoints, the library step, results via XCom.

The servers are fixed by preflight (host and port of each, as the connections said before the drill), so
tasks after the redirect still know which server was which.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import get_connection, mysql_endpoint, object_store, redirect_connection
from drdrill.config import Target
from drdrill.drills import failover
from drdrill.drills.restore import run_key
from drdrill.endpoints import MySQLEndpoint

CLEANUP = "cleanup"
RECORDED_STEPS = [*failover.STEPS[:-1], CLEANUP, failover.STEPS[-1]]


def _run(context: Any, step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``runtime.run_step`` with the step's wall time as ``seconds`` (the record's stage breakdown)."""
    def timed() -> dict[str, Any]:
        began = time.monotonic()
        result = step()
        return {**result, "seconds": round(time.monotonic() - began, 3)}

    return runtime.run_step(context, timed)


def _key(context: Any) -> str:
    return run_key(context["run_id"])


def _directory(context: Any) -> Any:
    return failover.run_dir(runtime.work_dir(), _key(context))


def servers(target: Target, addresses: dict[str, Any] | None = None) -> failover.FailoverServers:
    """Admin and canary logins on both servers; at ``addresses`` (from preflight) when given, else where the connections point."""
    primary = mysql_endpoint(target.source_conn_id, f"targets[{target.name}].source_conn_id")
    replica = mysql_endpoint(target.replica_conn_id or "", f"targets[{target.name}].replica_conn_id")
    if addresses:
        primary = _at(primary, addresses["primary"])
        replica = _at(replica, addresses["replica"])
    canary = mysql_endpoint(target.failover_drill.canary_conn_id or "", f"targets[{target.name}].failover_drill.canary_conn_id")
    database = target.databases[0]
    return failover.FailoverServers(
        primary=primary, replica=replica,
        canary_primary=MySQLEndpoint(primary.host, primary.port, canary.user, canary.password, database),
        canary_replica=MySQLEndpoint(replica.host, replica.port, canary.user, canary.password, database))


def _at(endpoint: MySQLEndpoint, address: dict[str, Any]) -> MySQLEndpoint:
    return MySQLEndpoint(address["host"], int(address["port"]), endpoint.user, endpoint.password,
                         endpoint.database, endpoint.socket)


def _plan(context: Any) -> dict[str, Any]:
    return context["ti"].xcom_pull(task_ids="preflight") or context["ti"].xcom_pull(
        task_ids="preflight", key=runtime.OUTCOME_KEY) or {}


def preflight(target_name: str, context: Any) -> dict[str, Any]:
    """Checks that touch nothing; also what will be done, in words, for the approval request."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        failover.refuse_unless_allowed(target)
        logins = servers(target)
        plan = failover.preflight(target, logins)
        plan["addresses"] = {role: {"host": endpoint.host, "port": endpoint.port}
                             for role, endpoint in (("primary", logins.primary), ("replica", logins.replica))}
        fault = failover.fault_for(target, logins, plan, runtime.work_dir(), _key(context))
        plan["approval_text"] = approval_text(target, logins, fault.describe())
        return plan

    return _run(context, step)


def approval_text(target: Target, logins: failover.FailoverServers, fault: str) -> str:
    """Exactly what the drill will do, for a human to approve on a production target."""
    settings = target.failover_drill
    back = ("then switch roles back so the original primary takes writes again" if settings.switch_back
            else "and leave the replica as the new primary")
    return (f"Failover drill on production target **{target.name}** ({', '.join(target.databases)}):\n\n"
            f"1. Start a canary writer (one row every 100 ms) on {logins.primary.host}:{logins.primary.port}.\n"
            f"2. Inject the fault: {fault}.\n"
            f"3. Promote the replica {logins.replica.host}:{logins.replica.port} (STOP SLAVE, RESET SLAVE ALL, read_only=OFF).\n"
            f"4. Point the Airflow connection `{target.source_conn_id}` at it"
            f"{' and run ' + settings.redirect_command if settings.redirect_command else ''}.\n"
            f"5. Bring the old primary back as a replica (errant transactions: {settings.errant_transactions}), {back}.\n\n"
            "Writes to the primary fail from step 2 until step 3 completes.")


def start_canary(target_name: str, context: Any) -> dict[str, Any]:
    target = runtime.target(target_name)
    plan = _plan(context)
    return _run(context, lambda: failover.start_canary(
        servers(target, plan["addresses"]), plan, context["run_id"], _directory(context)))


def inject_fault(target_name: str, context: Any) -> dict[str, Any]:
    target = runtime.target(target_name)
    plan = _plan(context)
    return _run(context, lambda: failover.inject(
        failover.fault_for(target, servers(target, plan["addresses"]), plan, runtime.work_dir(), _key(context))))


def detect(target_name: str, context: Any) -> dict[str, Any]:
    target = runtime.target(target_name)
    plan = _plan(context)
    injected = context["ti"].xcom_pull(task_ids="inject_fault")
    return _run(context, lambda: failover.detect(
        servers(target, plan["addresses"]), injected, target.failover_drill.detection_timeout.total_seconds()))


def promote(target_name: str, context: Any) -> dict[str, Any]:
    target = runtime.target(target_name)
    plan = _plan(context)
    return _run(context, lambda: failover.promote_replica(
        servers(target, plan["addresses"]), plan, target.failover_drill))


def redirect(target_name: str, context: Any) -> dict[str, Any]:
    """Point the source connection (what every other drill uses) at the new primary; run the user's hook."""
    target = runtime.target(target_name)
    plan = _plan(context)

    def step() -> dict[str, Any]:
        logins = servers(target, plan["addresses"])
        new = plan["addresses"]["replica"]
        before = redirect_connection(target.source_conn_id, new["host"], new["port"])
        hook = failover.run_redirect_command(target.failover_drill.redirect_command, logins.replica, logins.primary)
        return {"connection": target.source_conn_id, "was": before, "now": new, "hook": hook}

    return _run(context, step)


def verify_writes(target_name: str, context: Any) -> dict[str, Any]:
    plan = _plan(context)
    return _run(context, lambda: failover.verify_writes(
        _directory(context), int(plan["replica_state"]["server_id"])))


def measure(target_name: str, context: Any) -> dict[str, Any]:
    """Bring the old primary back read-only, count what it had that the new primary lacks, judge RTO and RPO."""
    target = runtime.target(target_name)
    plan = _plan(context)
    ti = context["ti"]

    def step() -> dict[str, Any]:
        logins = servers(target, plan["addresses"])
        fault = failover.fault_for(target, logins, plan, runtime.work_dir(), _key(context))
        fault.undo()
        promoted = ti.xcom_pull(task_ids="promote")
        lost = failover.count_lost(logins, plan, promoted, _directory(context), runtime.work_dir(), context["run_id"])
        measured = failover.judge(plan, ti.xcom_pull(task_ids="inject_fault"), ti.xcom_pull(task_ids="detect"),
                                  promoted, ti.xcom_pull(task_ids="verify_writes"), lost, target)
        return {**measured, "lost": lost}

    return _run(context, step)


def _restore(target: Target, plan: dict[str, Any], context: Any) -> dict[str, Any]:
    logins = servers(target, plan["addresses"])
    fault = failover.fault_for(target, logins, plan, runtime.work_dir(), _key(context))
    base = f"{target.storage.prefix}/" if target.storage.prefix else ""
    save_key = f"{base}{target.name}/failover/{_key(context)}/lost-transactions.binlog.sql.zst"
    restored = failover.restore_topology(target, logins, fault, store=object_store(target.storage),
                                         save_key=save_key, work_dir=runtime.work_dir())
    where = plan["addresses"]["primary" if restored["roles"] == "original" else "replica"]
    restored["connection"] = _point_source_at(target, where)
    return restored


def _point_source_at(target: Target, address: dict[str, Any]) -> str:
    connection = get_connection(target.source_conn_id)
    if (connection.host, int(connection.port or 3306)) == (address["host"], int(address["port"])):
        return "unchanged"
    redirect_connection(target.source_conn_id, address["host"], address["port"])
    return f"{target.source_conn_id} -> {address['host']}:{address['port']}"


def fail_back(target_name: str, context: Any) -> dict[str, Any]:
    """Old primary rejoins as a replica (errant transactions per policy), then roles switch back if configured."""
    target = runtime.target(target_name)
    return _run(context, lambda: _restore(target, _plan(context), context))


def cleanup(target_name: str, context: Any) -> dict[str, Any]:
    """Teardown, whatever failed: stop the canary, undo the fault, restore the topology and the connection."""
    target = runtime.target(target_name)
    plan = _plan(context)

    def step() -> dict[str, Any]:
        stopped = failover.cleanup(_directory(context))
        if not plan.get("addresses") or context["ti"].xcom_pull(task_ids="inject_fault") is None:
            return {**stopped, "topology": "untouched"}
        return {**stopped, **_restore(target, plan, context)}

    return _run(context, step)


def verify_consistency(target_name: str, context: Any) -> dict[str, Any]:
    """Roles as expected, replication running, per-table checksums equal; skipped when the drill never started."""
    target = runtime.target(target_name)
    plan = _plan(context)
    if not plan.get("addresses") or context["ti"].xcom_pull(task_ids="start_canary") is None:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("The drill touched nothing, so there is no topology to verify.")
    swapped = not target.failover_drill.switch_back and context["ti"].xcom_pull(task_ids="promote") is not None
    return _run(context, lambda: failover.verify_consistency(
        target, servers(target, plan["addresses"]), expect_swapped=swapped))


def headline(measured: dict[str, Any], restored: dict[str, Any] | None) -> str:
    """One line for the summary: detection, promotion, lost writes, how the topology ended."""
    if not measured:
        return "not measured"
    roles = (restored or {}).get("roles", "unknown")
    return (f"detection {measured['detection_seconds']} s, promotion {measured['promotion_seconds']} s, "
            f"client write gap {measured['client_write_gap_seconds']} s; lost {measured['lost_transactions']} "
            f"transaction(s) ({measured['lost_bytes']} bytes), {measured['canary_rows_lost']} canary row(s); "
            f"lag before {measured['replica_lag_seconds_before']} s; roles after: {roles}")


def record(target_name: str, context: Any) -> dict[str, Any]:
    """Write the drill record; fail the run (and alert) unless the verdict is passed."""
    results, _ = runtime.pull_results(context, RECORDED_STEPS)
    measured = results.get("measure") or {}
    plan = results.get("preflight") or {}
    lines = {}
    if measured:
        lines = {"RTO": f"{measured['rto_seconds']:.2f} s (objective {measured['rto_objective_seconds']:.0f} s)",
                 "Lost writes": f"{measured['lost_transactions']} transaction(s), {measured['canary_rows_lost']} "
                                f"canary row(s); RPO {measured['rpo_seconds']:.2f} s"}
    return runtime.finish_drill(
        context, target_name=target_name, drill="failover", steps=RECORDED_STEPS,
        details={"headline": headline(measured, results.get("fail_back") or results.get(CLEANUP)),
                 "fault": plan.get("fault"), "addresses": plan.get("addresses"),
                 "measured": {key: value for key, value in measured.items() if key not in ("findings",)},
                 "fail_back": results.get("fail_back") or results.get(CLEANUP)},
        measurements={key: measured.get(key) for key in
                      ("rto_seconds", "rto_objective_seconds", "rpo_seconds", "rpo_objective_seconds")},
        slack_lines=lines or None,
    )
