"""Bodies of the failover drill DAG's tasks: the run's context → the path's steps, results via XCom.

The only module of the drill that uses Airflow or the ``drdrill.airflow`` adapters: it resolves the target's
connections (``resolve_connections``, which the CLI uses too) and passes them down.
"""

from __future__ import annotations

import functools
from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import (
    defined_by_environment,
    environment_variable,
    mysql_endpoint,
    object_store,
    rds_client,
    redirect_connection,
)
from drdrill.config import Target
from drdrill.drills.failover.logins import FailoverServers, failover_servers
from drdrill.drills.failover.path import Connections, FailoverPath, Run, stop_canary
from drdrill.drills.failover.report import record_fields
from drdrill.drills.failover.runner import fail_over as runner_fail_over
from drdrill.drills.failover.runner import path_for
from drdrill.drills.failover.steps import FAIL_OVER, PREFLIGHT, RECORDED_STEPS, timed
from drdrill.findings import Finding
from drdrill.servers.faults import is_managed
from drdrill.servers.reaper import reap_orphans

SPANS = ("fail_over",)  # the task that runs the steps sharing the canary (``fail_over``)


def resolve_connections(target: Target) -> Connections:
    """The target's Airflow connections: logins on both servers, the source's redirect, the bucket, AWS."""
    source = target.source_conn_id
    return Connections(
        functools.partial(_servers, target),
        redirect_source=functools.partial(redirect_connection, source,
                                          api_conn_id=runtime.config().settings.airflow_api_conn_id),
        store=functools.partial(object_store, target.storage),
        rds=functools.partial(rds_client, target.failover_drill.aws_conn_id),
        source_variable=environment_variable(source) if defined_by_environment(source) else None)


def _servers(target: Target) -> FailoverServers:
    """Admin and canary logins on both servers, where the connections point now."""
    settings = target.failover_drill
    label = f"targets[{target.name}]"
    primary = mysql_endpoint(target.source_conn_id, f"{label}.source_conn_id")
    # A managed service has no replica to log in to: its writer endpoint is both the old and the new primary.
    replica = primary if is_managed(settings.fault) else \
        mysql_endpoint(target.replica_conn_id or "", f"{label}.replica_conn_id")
    canary = mysql_endpoint(settings.canary_conn_id or "", f"{label}.failover_drill.canary_conn_id")
    replication = mysql_endpoint(settings.replication_conn_id, f"{label}.failover_drill.replication_conn_id") \
        if settings.replication_conn_id else None
    return failover_servers(primary, replica, canary, target.databases[0], replication)


def _path(target_name: str, context: Any) -> FailoverPath:
    target = runtime.target(target_name)
    return path_for(Run(target, resolve_connections(target), runtime.work_dir(), context["run_id"]))


def _plan(context: Any) -> dict[str, Any]:
    return context["ti"].xcom_pull(task_ids=PREFLIGHT) or context["ti"].xcom_pull(
        task_ids=PREFLIGHT, key=runtime.OUTCOME_KEY) or {}


def preflight(target_name: str, context: Any) -> dict[str, Any]:
    """Checks that touch nothing; also what will be done, in words, for the approval request."""
    reap_orphans(runtime.work_dir())
    path = _path(target_name, context)

    def step() -> dict[str, Any]:
        runtime.hold_target(context, target_name, "failover")  # no backup, archive or restore meanwhile (drill_locks)
        return timed(path.preflight)()

    return runtime.run_step(context, step)


def fail_over(target_name: str, context: Any) -> dict[str, Any]:
    """The steps of ``steps.FAIL_OVER`` in this one task: the canary writer and its acks live on the worker that
    started it (a cluster may place each task on any worker). Each step reaches XCom as it ends; the first that
    fails stops the span. Whatever happened, the canary is stopped here; the cleanup task (on any worker) undoes
    the fault and restores the topology. Not retried: a second failover on a half-failed topology must not start.
    """
    path = _path(target_name, context)
    reap_orphans(runtime.work_dir())  # what dead runs left on this worker (a canary still writing, its acks)
    runner = runtime.SpanRunner(context)
    results: dict[str, Any] = {PREFLIGHT: _plan(context)}
    try:
        runner_fail_over(path, results, lambda step, call_step: runner.attempt(step, timed(call_step)))
    finally:
        stop_canary(path.run.directory)
    return runner.finish({})


def _span(context: Any) -> tuple[dict[str, Any], dict[str, list[Finding]]]:
    return runtime.pull_results(context, list(FAIL_OVER), SPANS)


def cleanup(target_name: str, context: Any) -> dict[str, Any]:
    """Whatever failed: stop the canary, undo the fault, restore the topology and the connection.

    A fault counts as injected once the canary started: a worker that died after that may have struck.
    """
    results, found = _span(context)
    path = _path(target_name, context)
    return runtime.run_step(context, timed(lambda: path.cleanup(
        {PREFLIGHT: _plan(context)}, injected=results.get("start_canary") is not None,
        fail_back_findings=found["fail_back"])))


def verify_consistency(target_name: str, context: Any) -> dict[str, Any]:
    """Roles as expected, replication running, per-table checksums equal; skipped when the drill never started."""
    plan = _plan(context)
    results, _ = _span(context)
    if not plan.get("addresses") or results.get("start_canary") is None:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("The drill touched nothing, so there is no topology to verify.")
    results = {PREFLIGHT: plan, "promote": results.get("promote")}
    path = _path(target_name, context)
    return runtime.run_step(context, timed(lambda: path.verify_consistency(results)))


def _approval(context: Any) -> tuple[list[str], dict[str, list[Any]], dict[str, Any] | None]:
    """A production run's recorded steps (with approve), NOT_APPROVED unless the approver approved, and the answer."""
    from drdrill.airflow import approval

    plan, findings = runtime.pull_results(context, [PREFLIGHT])
    answer = context["ti"].xcom_pull(task_ids=approval.APPROVE_TASK, key=approval.ANSWER_KEY)
    passed = plan[PREFLIGHT] is not None and not findings[PREFLIGHT]
    return (approval.recorded_steps(RECORDED_STEPS),
            {approval.APPROVE_TASK: approval.approval_findings(answer, preflight_passed=passed)}, answer)


def record(target_name: str, context: Any) -> dict[str, Any]:
    """Write the drill record (with the approver's answer on a production target); fail the run (and alert) unless
    the verdict is passed."""
    steps, found, answer = _approval(context) if runtime.target(target_name).production else (RECORDED_STEPS, {}, None)
    results, _ = runtime.pull_results(context, steps, SPANS)
    details, measurements, lines = record_fields(results)
    return runtime.finish_drill(
        context, target_name=target_name, drill="failover", steps=steps, details={**details, "approval": answer},
        measurements=measurements, slack_lines=lines or None, found=found, spans=SPANS,
    )
