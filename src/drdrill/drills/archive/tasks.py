"""Bodies of the binlog-archive and RPO-monitor DAGs' tasks."""

from __future__ import annotations

from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import manifest_signing_key, mysql_endpoint, object_store
from drdrill.findings import DrillFailed, Finding
from drdrill.drills.archive import monitor, steps
from drdrill.history import RpoSample, record_rpo_sample


def archive(target_name: str, context: Any) -> dict[str, Any]:
    """Rotate and ship every closed binlog not yet archived."""
    target = runtime.target(target_name)

    def step() -> dict[str, Any]:
        runtime.hold_target(context, target_name, "binlog_archive")  # not while a failover drill kills the source
        return steps.archive(target, mysql_endpoint(target.source_conn_id, f"targets[{target_name}].source_conn_id"),
                             object_store(target.storage), work_dir=runtime.work_dir())

    return runtime.run_step(context, step)


def check_chain(target_name: str, context: Any) -> dict[str, Any]:
    """Prove the archive has no gap (re-hash every object when the form asks for a deep check)."""
    target = runtime.target(target_name)
    deep = bool(context["params"].get("deep_check"))
    return runtime.run_step(context, lambda: steps.check_chain(target, object_store(target.storage), deep=deep))


def record_archive(target_name: str, context: Any) -> dict[str, Any]:
    """The drill record of an archiving run."""
    results, _ = runtime.pull_results(context, steps.STEPS)
    archived = results.get("archive") or {}
    warnings = [Finding.from_dict(item) for item in (results.get("check_chain") or {}).get("findings", [])]
    return runtime.finish_drill(context, target_name=target_name, drill="binlog_archive", steps=steps.STEPS,
                                details={"uploaded": archived.get("uploaded"), "bytes": archived.get("bytes"),
                                         "newest_event_at": archived.get("newest_event_at"),
                                         "chain": results.get("check_chain")},
                                found={"check_chain": warnings})


def sample_rpo(target_name: str, context: Any) -> dict[str, Any]:
    """Read the predicted RPO and keep it in the time series."""
    target = runtime.target(target_name)
    sample = runtime.run_step(context, lambda: monitor.sample_rpo(
        target, mysql_endpoint(target.source_conn_id, f"targets[{target_name}].source_conn_id"),
        object_store(target.storage), signing_key=manifest_signing_key(target.storage), now=runtime.run_time(context)))
    record_rpo_sample(runtime.config().settings.history_url, RpoSample(
        target=target_name, **{key: sample[key] for key in ("sampled_at", "archive_lag_seconds", "backup_age_seconds",
                                                            "rpo_objective_seconds", "max_backup_age_seconds",
                                                            "findings")}))
    return sample


def judge_rpo(target_name: str, sample: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fail (and alert) when the archive lags beyond the RPO objective or the newest backup is too old."""
    if sample["findings"]:
        raise DrillFailed([Finding.from_dict(item) for item in sample["findings"]],
                          measurements={"archive lag": f"{_seconds(sample['archive_lag_seconds'])} "
                                                       f"(objective {sample['rpo_objective_seconds']:.0f} s)",
                                        "newest backup age": _seconds(sample["backup_age_seconds"])})
    return sample


def _seconds(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0f} s"
