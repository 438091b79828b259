"""Bodies of the PITR drill DAG's tasks (the scratch server and teardown are the restore drill's)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import mysql_endpoint, object_store
from drdrill.airflow.restore_tasks import disaster_at, scratch_endpoint
from drdrill.drills import pitr, restore


def _key(context: Any) -> str:
    return restore.run_key(context["run_id"])


def requested_time(context: Any) -> datetime | None:
    """The trigger form's target time, or None for a random second inside the recoverable window."""
    return runtime.time_param(context, "target_time", "a random recoverable second")


def plan(target_name: str, context: Any) -> dict[str, Any]:
    """The base backup and the binlog chain to the target."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        return pitr.plan_with_markers(
            target, mysql_endpoint(target.source_conn_id, f"targets[{target_name}].source_conn_id"),
            object_store(target.storage), requested=requested_time(context), seed=context["run_id"],
            key=_key(context), work_dir=runtime.work_dir(), now=datetime.now(timezone.utc))

    return runtime.run_step(context, step)


def fetch_and_verify(target_name: str, planned: dict[str, Any], context: Any) -> dict[str, Any]:
    """Download and check the backup and the binlogs before anything is restored."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        store = object_store(target.storage)
        fetched = restore.fetch_and_verify(planned, target, store, work_dir=runtime.work_dir(), key=_key(context))
        return {**fetched, **pitr.fetch_binlog_files(planned, target, store, work_dir=runtime.work_dir(), key=_key(context))}

    return runtime.run_step(context, step)


def restore_base(target_name: str, planned: dict[str, Any], scratch: dict[str, Any], context: Any) -> dict[str, Any]:
    """Restore the base backup without its catch-up segment (the replay starts at the backup's own point)."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: restore.restore(
        planned, scratch, restore.read_manifest(object_store(target.storage), target, planned["backup_id"]),
        endpoint=scratch_endpoint(target, scratch), work_dir=runtime.work_dir(), key=_key(context),
        parallel=target.engine_options.parallel, apply_catchup=False))


def replay(target_name: str, planned: dict[str, Any], scratch: dict[str, Any], context: Any) -> dict[str, Any]:
    """Replay the archived binlogs up to the target second."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: pitr.replay(
        planned, restore.read_manifest(object_store(target.storage), target, planned["backup_id"]),
        endpoint=scratch_endpoint(target, scratch), work_dir=runtime.work_dir(), key=_key(context)))


def validate(target_name: str, planned: dict[str, Any], scratch: dict[str, Any], context: Any) -> dict[str, Any]:
    """The two-sided boundary suite."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: pitr.validate(
        planned, target, endpoint=scratch_endpoint(target, scratch),
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
        planned, disaster_at=disaster_at(context), validated=validated,
        stages={step: results.get(step) for step in ("restore_base", "replay", "validate")},
        rto_objective=target.objectives.rto, rpo_objective=target.objectives.rpo))


def record(target_name: str, context: Any) -> dict[str, Any]:
    """Write the drill record; fail the run (and alert) unless the verdict is passed."""
    results, _ = runtime.pull_results(context, pitr.STEPS)
    planned = results.get("plan") or {}
    measured = results.get("measure") or {}
    return runtime.finish_drill(
        context, target_name=target_name, drill="pitr", steps=pitr.STEPS, backup_id=planned.get("backup_id"),
        details={"target_time": planned.get("target_time"), "binlogs": planned.get("files"),
                 "markers": planned.get("markers"),
                 "replay_mb_per_second": measured.get("replay_mb_per_second"),
                 "results_uri": (results.get("validate") or {}).get("results_uri")},
        measurements={key: measured.get(key) for key in
                      ("rto_seconds", "rto_objective_seconds", "rpo_seconds", "rpo_objective_seconds")},
        slack_lines=restore.measurement_lines(measured) if measured else None,
    )
