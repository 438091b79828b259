"""Bodies of the restore drill DAG's tasks: resolve connections and params, call the library step, hand results on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import mysql_endpoint, object_store
from drdrill.findings import DrillFailed, Finding
from drdrill.config import Target
from drdrill.drills import pitr, restore
from drdrill.durations import parse_duration
from drdrill.endpoints import MySQLEndpoint


def _key(context: Any) -> str:
    return restore.run_key(context["run_id"])


def disaster_at(context: Any) -> datetime:
    """The declared disaster: the trigger form's time, else the moment the drill run started."""
    declared = runtime.time_param(context, "disaster_at", "the drill's start")
    if declared:
        return declared
    started = getattr(context["dag_run"], "start_date", None)
    return started.astimezone(timezone.utc) if started else runtime.run_time(context)


def objective(context: Any, target: Target, name: str) -> timedelta:
    """The RTO or RPO objective: the trigger form's override, else the target's."""
    override = (context["params"].get(f"{name}_objective") or "").strip()
    if not override:
        return getattr(target.objectives, name)
    try:
        return parse_duration(override)
    except (ValueError, TypeError) as exc:
        raise DrillFailed([Finding("CONFIG_INVALID", f"{name}_objective {override!r}: {exc}")]) from exc


def scratch_endpoint(target: Target, scratch: dict[str, Any]) -> MySQLEndpoint:
    """The admin login of the scratch server a provision result describes."""
    local = restore.local_scratch(scratch)
    if local is not None:
        return local.endpoint()
    return mysql_endpoint(scratch["conn_id"], f"targets[{target.name}].restore_drill.scratch_conn_id")


def select_backup(target_name: str, context: Any) -> dict[str, Any]:
    """Which backup this drill restores."""
    params = context["params"]
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: restore.select_backup(
        target, object_store(target.storage), now=runtime.run_time(context), choice=params.get("backup") or "newest",
        backup_id=params.get("backup_id") or "", window_days=int(params.get("window_days") or 7), seed=context["run_id"]))


def fetch_and_verify(target_name: str, selected: dict[str, Any], context: Any) -> dict[str, Any]:
    """Download and check every object before anything is restored."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: restore.fetch_and_verify(
        selected, target, object_store(target.storage), work_dir=runtime.work_dir(), key=_key(context)))


def provision_scratch(target_name: str, selected: dict[str, Any], context: Any) -> dict[str, Any]:
    """Create (or check) the scratch server; refuse the target's source and replica."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        conn_id = target.restore_drill.scratch_conn_id
        return restore.provision_scratch(
            selected, work_dir=runtime.work_dir(), key=_key(context),
            source=mysql_endpoint(target.source_conn_id, f"targets[{target_name}].source_conn_id"),
            replica=mysql_endpoint(target.replica_conn_id) if target.replica_conn_id else None,
            scratch_endpoint=mysql_endpoint(conn_id, f"targets[{target_name}].restore_drill.scratch_conn_id") if conn_id else None,
            scratch_conn_id=conn_id)

    return runtime.run_step(context, step)


def restore_backup(target_name: str, selected: dict[str, Any], scratch: dict[str, Any], context: Any) -> dict[str, Any]:
    """Restore the data and the catch-up segment."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        manifest = restore.read_manifest(object_store(target.storage), target, selected["backup_id"])
        return restore.restore(selected, scratch, manifest, endpoint=scratch_endpoint(target, scratch),
                               work_dir=runtime.work_dir(), key=_key(context), parallel=target.engine_options.parallel)

    return runtime.run_step(context, step)


def validate(target_name: str, selected: dict[str, Any], scratch: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Great Expectations suite, generated from the manifest, run in the restored server."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        store = object_store(target.storage)
        return restore.validate(selected, restore.read_manifest(store, target, selected["backup_id"]), target,
                                endpoint=scratch_endpoint(target, scratch), store=store, work_dir=runtime.work_dir(),
                                key=_key(context), disaster_at=disaster_at(context),
                                rpo_objective=objective(context, target, "rpo"))

    return runtime.run_step(context, step)


def measure(target_name: str, context: Any) -> dict[str, Any]:
    """RTO and RPO against the objectives; nothing to measure when the restore never got validated."""
    results, _ = runtime.pull_results(context, restore.STEPS)
    validated = results.get("validate")
    if not validated:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("The restore was not validated, so there is no RTO or RPO to measure.")
    target = runtime.target(target_name)
    newest = validated.get("newest_heartbeat")
    return runtime.run_step(context, lambda: restore.measure(
        disaster_at=disaster_at(context), validated_at=datetime.fromisoformat(validated["validated_at"]),
        newest_heartbeat=datetime.fromisoformat(newest) if newest else None,
        rto_objective=objective(context, target, "rto"), rpo_objective=objective(context, target, "rpo"),
        heartbeat_configured=target.heartbeat is not None,
        stages={step: results.get(step) for step in ("fetch_and_verify", "provision_scratch", "restore", "validate")}))


def record(target_name: str, context: Any) -> dict[str, Any]:
    """Write the drill record; fail the run (and alert, with RTO/RPO) unless the verdict is passed."""
    results, _ = runtime.pull_results(context, restore.STEPS)
    selected = results.get("select_backup") or {}
    measured = results.get("measure") or {}
    validated = results.get("validate") or {}
    return runtime.finish_drill(
        context, target_name=target_name, drill="restore", steps=restore.STEPS, backup_id=selected.get("backup_id"),
        details={"engine": selected.get("engine"), "backup_age_seconds": selected.get("age_seconds"),
                 "choice": selected.get("choice"), "results_uri": validated.get("results_uri"),
                 "data_docs_uri": validated.get("data_docs_uri"), "expectations": validated.get("evaluated"),
                 "fetch_mb_per_second": measured.get("fetch_mb_per_second"),
                 "restore_mb_per_second": measured.get("restore_mb_per_second"),
                 "disaster_at": measured.get("disaster_at"), "newest_heartbeat": measured.get("newest_heartbeat"),
                 **pitr.window_details(runtime.target(target_name), object_store(runtime.target(target_name).storage))},
        measurements={key: measured.get(key) for key in
                      ("rto_seconds", "rto_objective_seconds", "rpo_seconds", "rpo_objective_seconds")},
        slack_lines=restore.measurement_lines(measured) if measured else None,
    )


def teardown(target_name: str, scratch: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Remove the scratch server unless the trigger form asked to keep it."""
    target = runtime.target(target_name)
    ti = context["ti"]
    selected = ti.xcom_pull(task_ids="select_backup") or ti.xcom_pull(task_ids="plan") or {}  # restore or PITR
    keep = bool(context["params"].get("keep_scratch"))
    endpoint = None
    databases: tuple[str, ...] = ()
    if scratch and scratch.get("kind") == "connection" and selected:
        endpoint = scratch_endpoint(target, scratch)
        databases = restore.read_manifest(object_store(target.storage), target, selected["backup_id"]).databases
    return restore.teardown(scratch, work_dir=runtime.work_dir(), key=_key(context), keep_scratch=keep,
                            endpoint=endpoint, databases=databases)
