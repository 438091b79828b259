"""Bodies of the restore drill DAG's tasks: resolve connections and read the trigger form, call the step, hand results on.

The PITR drill's tasks use the form, objectives and connections from here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from drdrill.airflow import runtime
from drdrill.airflow.connections import manifest_signing_key, mysql_endpoint, object_store
from drdrill.config import Target
from drdrill.drills.layouts import layout_for
from drdrill.drills.form import FormValueError, param_specs, read_form
from drdrill.drills.restore import steps as restore
from drdrill.drills.restore.details import measurements, restore_details, restored_backup, slack_lines
from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.proof import write_proof
from drdrill.drills.restore.runner import RestoreServers, recover_on_scratch
from drdrill.drills.restore.window import window_details
from drdrill.durations import format_duration
from drdrill.findings import DrillFailed, Finding
from drdrill.servers.reaper import reap_orphans
from drdrill.servers.scratch import run_key
from drdrill.servers.slots import SlotPolicy
from drdrill.storage.lease import LEASE_BOUND, release_lease

T = TypeVar("T")
SPANS = ("recover",)  # the task that runs the steps sharing the scratch server (``recover``)


def _key(context: Any) -> str:
    return run_key(context["run_id"])


def dag_params(options_type: type = RestoreOptions) -> dict[str, Any]:
    """The DAG's ``Param``s, from a drill's trigger form."""
    from airflow.sdk import Param

    return {name: Param(**spec) for name, spec in param_specs(options_type).items()}


def read_options(options_type: type[T], context: Any) -> T:
    """The run's trigger form read into its options object; a value that cannot be read is CONFIG_INVALID."""
    try:
        return read_form(options_type, context["params"])
    except FormValueError as exc:
        raise DrillFailed([Finding("CONFIG_INVALID", exc.problem, exc.fix or "")]) from exc


def disaster_at(context: Any, declared: datetime | None) -> datetime:
    """The declared disaster: the trigger form's time, else the moment the drill run started."""
    if declared:
        return declared
    started = getattr(context["dag_run"], "start_date", None)
    return started.astimezone(timezone.utc) if started else runtime.run_time(context)


def objective(target: Target, override: timedelta | None, name: str) -> timedelta:
    """The RTO or RPO objective: the trigger form's override, else the target's."""
    return override or getattr(target.objectives, name)


def restore_servers(target: Target) -> RestoreServers:
    """Source, replica, bucket, (optional) scratch server and manifest key of a target, from its Airflow connections."""
    scratch_conn_id = target.restore_drill.scratch_conn_id
    return RestoreServers(
        source=mysql_endpoint(target.source_conn_id, f"targets[{target.name}].source_conn_id"),
        replica=mysql_endpoint(target.replica_conn_id) if target.replica_conn_id else None,
        store=object_store(target.storage),
        scratch=mysql_endpoint(scratch_conn_id, f"targets[{target.name}].restore_drill.scratch_conn_id")
        if scratch_conn_id else None,
        scratch_conn_id=scratch_conn_id,
        signing_key=manifest_signing_key(target.storage),
        scratch_slots=SlotPolicy(runtime.config().settings.scratch_slots, target.timeouts.lock_wait),
    )


def select_backup(target_name: str, context: Any) -> dict[str, Any]:
    """Which backup this drill restores (first removing what dead runs left)."""
    target = runtime.target(target_name)
    reap_orphans(runtime.work_dir())

    def step() -> dict[str, Any]:
        runtime.hold_target(context, target_name, "restore")  # no failover of this target meanwhile (drill_locks)
        chosen = read_options(RestoreOptions, context)
        return restore.select_backup(target, object_store(target.storage), signing_key=manifest_signing_key(target.storage),
                                     now=runtime.run_time(context),
                                     choice=chosen.backup, backup_id=chosen.backup_id, window_days=chosen.window_days,
                                     seed=context["run_id"], disaster_at=disaster_at(context, chosen.disaster_at),
                                     lease_key=_key(context))

    return runtime.run_step(context, step)


def recover(target_name: str, selected: dict[str, Any], context: Any) -> dict[str, Any]:
    """fetch_and_verify, provision_scratch, restore, validate and the teardown, in this one task: they share the
    fetched files and the scratch server, which live on the worker that runs them (``runner.recover_on_scratch``).

    Each step's result goes to XCom as it ends; a bad value in the form (other than ``keep_scratch``) was
    already refused by select_backup.
    """
    target = runtime.target(target_name)
    chosen = read_options(RestoreOptions, context)
    reap_orphans(runtime.work_dir())  # what dead runs left on this worker
    runner = runtime.SpanRunner(context)
    torn = recover_on_scratch(runner, target, restore_servers(target), selected, work_dir=runtime.work_dir(),
                              run_id=context["run_id"], keep_scratch=chosen.keep_scratch,
                              disaster_at=disaster_at(context, chosen.disaster_at),
                              rpo_objective=objective(target, chosen.rpo_objective, "rpo"))
    return runner.finish({"scratch": torn})


def measure(target_name: str, context: Any) -> dict[str, Any]:
    """RTO and RPO against the objectives; nothing to measure when the restore never got validated."""
    results, _ = runtime.pull_results(context, restore.STEPS, SPANS)
    validated = results.get("validate")
    if not validated:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("The restore was not validated, so there is no RTO or RPO to measure.")
    target = runtime.target(target_name)
    newest = validated.get("newest_heartbeat")

    def step() -> dict[str, Any]:
        chosen = read_options(RestoreOptions, context)
        return restore.measure(
            disaster_at=disaster_at(context, chosen.disaster_at),
            validated_at=datetime.fromisoformat(validated["validated_at"]),
            newest_heartbeat=datetime.fromisoformat(newest) if newest else None,
            rto_objective=objective(target, chosen.rto_objective, "rto"),
            rpo_objective=objective(target, chosen.rpo_objective, "rpo"),
            heartbeat_configured=target.heartbeat is not None,
            stages={step: results.get(step) for step in restore.MEASURED_STAGES})

    return runtime.run_step(context, step)


def record(target_name: str, context: Any) -> dict[str, Any]:
    """Release the run's lease, write the drill record and the restored backup's proof; fail the run (and alert, with
    RTO/RPO) unless passed."""
    results, _ = runtime.pull_results(context, restore.STEPS, SPANS)
    target = runtime.target(target_name)
    store = object_store(target.storage)
    try:
        declared = disaster_at(context, read_options(RestoreOptions, context).disaster_at)
    except DrillFailed:  # an unreadable form is the finding of the step that read it; the record still gets written
        declared = None
    release_run_lease(target, context)  # the drill is over; the teardown does not run when no scratch was set up
    return runtime.finish_drill(
        context, target_name=target_name, drill="restore", steps=restore.STEPS, backup_id=restored_backup(results),
        details=restore_details(results, disaster_at=declared,
                                pitr_window=window_details(target, store, signing_key=manifest_signing_key(target.storage))),
        measurements=measurements(results), slack_lines=slack_lines(results), spans=SPANS,
        after_record=lambda pulled, written: write_proof(store, target, pulled, written),
    )


def release_run_lease(target: Target, context: Any) -> dict[str, Any]:
    """Release the run's lease on its backup (``storage.lease``): at the record, which always runs, and at the
    teardown. A store that cannot be reached leaves the lease to expire after its bound, and says so."""
    try:
        release_lease(object_store(target.storage), layout_for(target), _key(context))
    except Exception as exc:  # must not fail the teardown or keep the record from being written
        return {"lease": f"not released ({exc}); it expires after {format_duration(LEASE_BOUND)}"}
    return {}
