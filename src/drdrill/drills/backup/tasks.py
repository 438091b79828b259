"""Bodies of the backup DAG's tasks: resolve connections, call the library step, hand results on."""

from __future__ import annotations

from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import copy_store, manifest_signing_key, mysql_endpoint, object_store
from drdrill.drills.backup import steps
from drdrill.drills.backup.deep_verify import deep_verify_reason
from drdrill.servers.reaper import reap_orphans


def _skip_if_dry_run(plan: dict[str, Any]) -> None:
    if plan.get("dry_run"):
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("Dry run: preflight only; nothing is dumped, uploaded or deleted.")


def preflight(target_name: str, context: Any) -> dict[str, Any]:
    """Check source, tools, disk and bucket; decide the backup id."""
    params = context["params"]
    engine = params.get("engine")
    reap_orphans(runtime.work_dir())

    def step() -> dict[str, Any]:
        runtime.hold_target(context, target_name, "backup")  # no failover of this target meanwhile (drill_locks)
        target = runtime.target(target_name)
        source = mysql_endpoint(target.source_conn_id, f"targets[{target_name}].source_conn_id")
        store = object_store(target.storage)
        return steps.preflight(target, source, store, work_dir=runtime.work_dir(), started_at=runtime.run_time(context),
                                engine_override=None if engine in (None, "", "configured") else engine,
                                dry_run=bool(params.get("dry_run")), deep_verify=bool(params.get("deep_verify")),
                                copy=copy_store(target.storage))

    return runtime.run_step(context, step)


def dump_and_upload(target_name: str, plan: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stream the engine's output, compressed and hashed, into S3."""
    _skip_if_dry_run(plan)
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: steps.dump_and_upload(
        plan, target, mysql_endpoint(target.source_conn_id), object_store(target.storage), work_dir=runtime.work_dir()))


def write_manifest(target_name: str, plan: dict[str, Any], dumped: dict[str, Any], context: Any) -> dict[str, Any]:
    """Source facts at a consistent point, catch-up binlog, then the manifest (last)."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: steps.write_manifest(
        plan, dumped, target, mysql_endpoint(target.source_conn_id), object_store(target.storage),
        signing_key=manifest_signing_key(target.storage), work_dir=runtime.work_dir()))


def verify(target_name: str, plan: dict[str, Any], context: Any) -> dict[str, Any]:
    """Check S3's checksums (or, when due or asked, re-read every byte); on success update the target's backup asset."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        deep_reason = deep_verify_reason(target, runtime.config().settings.history_url, runtime.run_time(context),
                                         asked=bool(plan.get("deep_verify")))
        return steps.verify(plan, target, object_store(target.storage), signing_key=manifest_signing_key(target.storage),
                            deep_reason=deep_reason, copy=copy_store(target.storage))

    result = runtime.run_step(context, step)
    for outlet in context["task"].outlets:
        context["outlet_events"][outlet].extra = {"backup_id": result["backup_id"], "target": target_name}
    return result


def apply_retention(target_name: str, context: Any) -> dict[str, Any]:
    """Delete what retention no longer needs; never the newest valid backup."""
    target = runtime.target(target_name)
    return runtime.run_step(context, lambda: steps.apply_retention(
        target, object_store(target.storage), signing_key=manifest_signing_key(target.storage), now=runtime.run_time(context),
        copy=copy_store(target.storage)))


def record(target_name: str, context: Any) -> dict[str, Any]:
    """Write the drill record; fail the run (and alert) unless the verdict is passed."""
    results, _ = runtime.pull_results(context, steps.STEPS)
    plan = results.get("preflight") or {}
    dry_run = bool(plan.get("dry_run"))
    return runtime.finish_drill(context, target_name=target_name, drill="backup",
                                steps=["preflight"] if dry_run else steps.STEPS, backup_id=plan.get("backup_id"),
                                details=steps.backup_details(results), dry_run=dry_run)
