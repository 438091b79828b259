"""Bodies of the PITR drill DAG's tasks (the form, objectives and connections as the restore drill's tasks read them)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import manifest_signing_key, mysql_endpoint, object_store
from drdrill.drills.pitr import steps as pitr
from drdrill.drills.pitr.details import pitr_details
from drdrill.drills.pitr.form import PitrOptions
from drdrill.drills.pitr.runner import recover_to_point
from drdrill.drills.restore import tasks as restore_tasks
from drdrill.drills.restore.details import measurements, slack_lines
from drdrill.servers.reaper import reap_orphans
from drdrill.servers.scratch import run_key


def _key(context: Any) -> str:
    return run_key(context["run_id"])


def dag_params() -> dict[str, Any]:
    """The DAG's ``Param``s, from the PITR trigger form."""
    return restore_tasks.dag_params(PitrOptions)


def plan(target_name: str, context: Any) -> dict[str, Any]:
    """The base backup and the binlog chain to the target (the form's second, or a random recoverable one)."""
    target = runtime.target(target_name)
    reap_orphans(runtime.work_dir())

    def step() -> dict[str, Any]:
        runtime.hold_target(context, target_name, "pitr")  # no failover of this target meanwhile (drill_locks)
        requested = restore_tasks.read_options(PitrOptions, context).target_time
        return pitr.plan_with_markers(
            target, mysql_endpoint(target.source_conn_id, f"targets[{target_name}].source_conn_id"),
            object_store(target.storage), signing_key=manifest_signing_key(target.storage), requested=requested, seed=context["run_id"],
            key=_key(context), work_dir=runtime.work_dir(), now=datetime.now(timezone.utc))

    return runtime.run_step(context, step)


def recover(target_name: str, planned: dict[str, Any], context: Any) -> dict[str, Any]:
    """fetch_and_verify, provision_scratch, restore_base, replay, validate and the teardown, in this one task: they
    share the fetched files and the scratch server, which live on the worker that runs them."""
    target = runtime.target(target_name)
    keep = restore_tasks.read_options(PitrOptions, context).keep_scratch
    reap_orphans(runtime.work_dir())  # what dead runs left on this worker
    runner = runtime.SpanRunner(context)
    torn = recover_to_point(runner, target, restore_tasks.restore_servers(target), planned,
                            work_dir=runtime.work_dir(), run_id=context["run_id"], keep_scratch=keep)
    return runner.finish({"scratch": torn})


def measure(target_name: str, context: Any) -> dict[str, Any]:
    """RTO, the RPO PITR achieves, replay throughput; skipped when nothing was validated."""
    results, _ = runtime.pull_results(context, pitr.STEPS, restore_tasks.SPANS)
    validated, planned = results.get("validate"), results.get("plan")
    if not validated or not planned:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("The recovery was not validated, so there is nothing to measure.")
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: pitr.measure(
        planned, disaster_at=restore_tasks.disaster_at(context, restore_tasks.read_options(PitrOptions, context).disaster_at),
        validated=validated, stages={step: results.get(step) for step in pitr.MEASURED_STAGES},
        rto_objective=target.objectives.rto, rpo_objective=target.objectives.rpo))


def record(target_name: str, context: Any) -> dict[str, Any]:
    """Release the run's lease, write the drill record; fail the run (and alert) unless the verdict is passed."""
    results, _ = runtime.pull_results(context, pitr.STEPS, restore_tasks.SPANS)
    restore_tasks.release_run_lease(runtime.target(target_name), context)  # also when no teardown runs
    return runtime.finish_drill(
        context, target_name=target_name, drill="pitr", steps=pitr.STEPS,
        backup_id=(results.get("plan") or {}).get("backup_id"), details=pitr_details(results),
        measurements=measurements(results), slack_lines=slack_lines(results), spans=restore_tasks.SPANS,
    )
