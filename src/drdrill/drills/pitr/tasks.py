"""Bodies of the PITR drill DAG's tasks (the scratch server is the restore drill's, from its tasks module)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import manifest_signing_key, mysql_endpoint, object_store
from drdrill.drills.pitr import steps as pitr
from drdrill.drills.pitr.details import pitr_details
from drdrill.drills.pitr.form import PitrOptions
from drdrill.drills.restore import steps as restore
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
        requested = restore_tasks.read_options(PitrOptions, context).target_time
        return pitr.plan_with_markers(
            target, mysql_endpoint(target.source_conn_id, f"targets[{target_name}].source_conn_id"),
            object_store(target.storage), signing_key=manifest_signing_key(target.storage), requested=requested, seed=context["run_id"],
            key=_key(context), work_dir=runtime.work_dir(), now=datetime.now(timezone.utc))

    return runtime.run_step(context, step)


def fetch_and_verify(target_name: str, planned: dict[str, Any], context: Any) -> dict[str, Any]:
    """Download and check the backup and the binlogs before anything is restored."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        store = object_store(target.storage)
        fetched = restore.fetch_and_verify(planned, target, store, signing_key=manifest_signing_key(target.storage),
                                           work_dir=runtime.work_dir(), key=_key(context), run_id=context["run_id"])
        return {**fetched, **pitr.fetch_binlog_files(planned, target, store, work_dir=runtime.work_dir(), key=_key(context))}

    return runtime.run_step(context, step)


def restore_base(target_name: str, planned: dict[str, Any], scratch: dict[str, Any], context: Any) -> dict[str, Any]:
    """Restore the base backup without its catch-up segment (the replay starts at the backup's own point)."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: restore.restore(
        planned, scratch, restore.read_manifest(object_store(target.storage), target, planned["backup_id"],
                                       signing_key=manifest_signing_key(target.storage)),
        endpoint=restore_tasks.scratch_endpoint(target, scratch), work_dir=runtime.work_dir(), key=_key(context),
        parallel=target.engine_options.parallel, apply_catchup=False))


def replay(target_name: str, planned: dict[str, Any], scratch: dict[str, Any], context: Any) -> dict[str, Any]:
    """Replay the archived binlogs up to the target second."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: pitr.replay(
        planned, restore.read_manifest(object_store(target.storage), target, planned["backup_id"],
                                       signing_key=manifest_signing_key(target.storage)),
        endpoint=restore_tasks.scratch_endpoint(target, scratch), work_dir=runtime.work_dir(), key=_key(context)))


def validate(target_name: str, planned: dict[str, Any], scratch: dict[str, Any], context: Any) -> dict[str, Any]:
    """The two-sided boundary suite."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: pitr.validate(
        planned, target, endpoint=restore_tasks.scratch_endpoint(target, scratch),
        source=mysql_endpoint(target.source_conn_id, f"targets[{target_name}].source_conn_id"),
        store=object_store(target.storage), work_dir=runtime.work_dir(), key=_key(context)))


def measure(target_name: str, context: Any) -> dict[str, Any]:
    """RTO, the RPO PITR achieves, replay throughput; skipped when nothing was validated."""
    results, _ = runtime.pull_results(context, pitr.STEPS)
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
    results, _ = runtime.pull_results(context, pitr.STEPS)
    restore_tasks.release_run_lease(runtime.target(target_name), context)  # also when no teardown runs
    return runtime.finish_drill(
        context, target_name=target_name, drill="pitr", steps=pitr.STEPS,
        backup_id=(results.get("plan") or {}).get("backup_id"), details=pitr_details(results),
        measurements=measurements(results), slack_lines=slack_lines(results),
    )


def teardown(target_name: str, scratch: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Remove the scratch server unless the trigger form asked to keep it."""
    return restore_tasks.teardown(target_name, scratch, context, options_type=PitrOptions, selected_by="plan")
