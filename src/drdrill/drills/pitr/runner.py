"""The PITR drill in one process (what ``drdrill pitr`` runs): the same steps and record as the DAG."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from drdrill.config import Target
from drdrill.drills.pitr.details import pitr_details
from drdrill.drills.pitr.form import PitrOptions
from drdrill.drills.pitr.steps import MEASURED_STAGES, STEPS, fetch_binlog_files, measure, plan_with_markers, replay, validate
from drdrill.drill_record import StepRunner, build_record
from drdrill.drills.layouts import layout_for
from drdrill.drills.restore import steps as restore
from drdrill.drills.restore.details import measurements
from drdrill.drills.restore.session import RestoreServers, Scratch, on_scratch
from drdrill.drills.target_lock import holding_target
from drdrill.findings import Finding
from drdrill.drills.local_record import record_with_evidence
from drdrill.history import DrillRecord
from drdrill.servers.reaper import reap_orphans
from drdrill.servers.scratch import run_key
from drdrill.storage.lease import release_lease


def recover_to_point(runner: StepRunner, target: Target, servers: RestoreServers, planned: dict[str, Any], *,
                     work_dir: Path, run_id: str, keep_scratch: bool, stop_override: str | None = None) -> dict[str, Any]:
    """fetch_and_verify (backup and binlogs), provision_scratch, restore_base, replay and validate, then the
    teardown whatever happened (one ``session.on_scratch``); returns the teardown's details. ``stop_override``
    exists to prove the boundary check has teeth."""
    def fetch(key: str) -> dict[str, Any]:
        return {**restore.fetch_and_verify(planned, target, servers.store, signing_key=servers.signing_key,
                                           work_dir=work_dir, key=key, run_id=run_id),
                **fetch_binlog_files(planned, target, servers.store, work_dir=work_dir, key=key)}

    def recover(scratch: Scratch) -> None:
        if runner.attempt("restore_base", lambda: restore.restore(
                planned, scratch.info, scratch.manifest, endpoint=scratch.endpoint, work_dir=work_dir, key=scratch.key,
                parallel=target.engine_options.parallel, apply_catchup=False)) and runner.attempt(
                "replay", lambda: replay(planned, scratch.manifest, endpoint=scratch.endpoint, work_dir=work_dir,
                                         key=scratch.key, stop_datetime=stop_override)):
            runner.attempt("validate", lambda: validate(planned, target, endpoint=scratch.endpoint,
                                                        source=servers.source, store=servers.store,
                                                        work_dir=work_dir, key=scratch.key))

    return on_scratch(runner, target, servers, fetch=fetch, recover=recover, work_dir=work_dir, run_id=run_id,
                      keep_scratch=keep_scratch, backup=planned)


def run_pitr_drill(target: Target, servers: RestoreServers, options: PitrOptions, *, work_dir: Path,
                   history_url: str, run_id: str, started_at: datetime,
                   stop_override: str | None = None) -> tuple[DrillRecord, list[Finding]]:
    """All steps in one process (the CLI's path); ``stop_override``: see ``recover_to_point``."""
    reap_orphans(work_dir)
    runner = StepRunner()
    key = run_key(run_id)
    disaster = options.disaster_at or started_at
    torn: dict[str, Any] = {"kept": False}
    with holding_target(target, "pitr", history_url=history_url, run_id=run_id, steps=STEPS) as first:
        try:
            planned = runner.attempt("plan", first(lambda: plan_with_markers(
                target, servers.source, servers.store, signing_key=servers.signing_key, requested=options.target_time,
                seed=run_id, key=key, work_dir=work_dir, now=started_at)))
            if planned:
                torn = recover_to_point(runner, target, servers, planned, work_dir=work_dir, run_id=run_id,
                                        keep_scratch=options.keep_scratch, stop_override=stop_override)
            validated = runner.results.get("validate")
            if planned and validated:
                runner.attempt("measure", lambda: measure(
                    planned, disaster_at=disaster, validated=validated,
                    stages={step: runner.results.get(step) for step in MEASURED_STAGES},
                    rto_objective=target.objectives.rto, rpo_objective=target.objectives.rpo))
        finally:
            release_lease(servers.store, layout_for(target), key)
        record, findings = build_record(
            run_id=run_id, target=target.name, drill="pitr", started_at=started_at.isoformat(), steps=STEPS,
            results=runner.results, findings_by_step=runner.findings,
            backup_id=(runner.results.get("plan") or {}).get("backup_id"),
            details={**pitr_details(runner.results), "scratch": torn}, measurements=measurements(runner.results),
        )
        record, findings = record_with_evidence(history_url, lambda: servers.store, target, record, findings)
    return record, findings
