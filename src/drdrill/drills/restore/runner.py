"""The restore drill in one process (what ``drdrill restore`` runs): the same steps and record as the DAG."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from drdrill.config import Target
from drdrill.drill_record import StepRunner, build_record
from drdrill.drills.layouts import layout_for
from drdrill.drills.restore.details import measurements, restore_details, restored_backup
from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.proof import write_proof
from drdrill.drills.restore.session import RestoreServers, Scratch, on_scratch
from drdrill.drills.restore.steps import MEASURED_STAGES, STEPS, fetch_and_verify, measure, restore, select_backup, validate
from drdrill.drills.target_lock import holding_target
from drdrill.drills.restore.window import window_details
from drdrill.findings import Finding
from drdrill.drills.local_record import record_with_evidence
from drdrill.history import DrillRecord
from drdrill.servers.reaper import reap_orphans
from drdrill.servers.scratch import run_key
from drdrill.storage.lease import release_lease


def recover_on_scratch(runner: StepRunner, target: Target, servers: RestoreServers, selected: dict[str, Any], *,
                       work_dir: Path, run_id: str, keep_scratch: bool, disaster_at: datetime,
                       rpo_objective: timedelta) -> dict[str, Any]:
    """fetch_and_verify, provision_scratch, restore and validate, then the teardown whatever happened (one
    ``session.on_scratch``); returns the teardown's details."""
    def recover(scratch: Scratch) -> None:
        if runner.attempt("restore", lambda: restore(scratch.backup, scratch.info, scratch.manifest,
                                                      endpoint=scratch.endpoint, work_dir=work_dir, key=scratch.key,
                                                      parallel=target.engine_options.parallel)):
            runner.attempt("validate", lambda: validate(scratch.backup, scratch.manifest, target,
                                                        endpoint=scratch.endpoint, store=servers.store,
                                                        work_dir=work_dir, key=scratch.key, disaster_at=disaster_at,
                                                        rpo_objective=rpo_objective))

    return on_scratch(runner, target, servers, recover=recover, work_dir=work_dir, run_id=run_id,
                      keep_scratch=keep_scratch, fetch=lambda key: fetch_and_verify(
                          selected, target, servers.store, signing_key=servers.signing_key, work_dir=work_dir,
                          key=key, run_id=run_id))


def measure_validated(runner: StepRunner, target: Target, *, disaster_at: datetime, rto_objective: timedelta,
                      rpo_objective: timedelta) -> None:
    """The measure step, when the restore was validated (else there is nothing to measure)."""
    validated = runner.results.get("validate")
    if not validated:
        return
    newest = validated.get("newest_heartbeat")
    runner.attempt("measure", lambda: measure(
        disaster_at=disaster_at, validated_at=datetime.fromisoformat(validated["validated_at"]),
        newest_heartbeat=datetime.fromisoformat(newest) if newest else None, rto_objective=rto_objective,
        rpo_objective=rpo_objective, heartbeat_configured=target.heartbeat is not None,
        stages={step: runner.results.get(step) for step in MEASURED_STAGES}))


def run_restore_drill(target: Target, servers: RestoreServers, options: RestoreOptions, *, work_dir: Path,
                      history_url: str, run_id: str, started_at: datetime) -> tuple[DrillRecord, list[Finding]]:
    """All steps in one process (the CLI's path), teardown included, recorded as the DAG's record task does;
    the verdict then goes to the restored backup's proof record."""
    reap_orphans(work_dir)
    runner = StepRunner()
    key = run_key(run_id)
    disaster = options.disaster_at or started_at
    rto_objective = options.rto_objective or target.objectives.rto
    rpo_objective = options.rpo_objective or target.objectives.rpo
    torn: dict[str, Any] = {"kept": False}
    with holding_target(target, "restore", history_url=history_url, run_id=run_id, steps=STEPS) as first:
        try:
            selected = runner.attempt("select_backup", first(lambda: select_backup(
                target, servers.store, signing_key=servers.signing_key, now=started_at, choice=options.backup,
                backup_id=options.backup_id, window_days=options.window_days, seed=run_id, disaster_at=disaster,
                lease_key=key)))
            if selected:
                torn = recover_on_scratch(runner, target, servers, selected, work_dir=work_dir, run_id=run_id,
                                          keep_scratch=options.keep_scratch, disaster_at=disaster, rpo_objective=rpo_objective)
            measure_validated(runner, target, disaster_at=disaster, rto_objective=rto_objective, rpo_objective=rpo_objective)
        finally:
            release_lease(servers.store, layout_for(target), key)
        record, findings = build_record(
            run_id=run_id, target=target.name, drill="restore", started_at=started_at.isoformat(), steps=STEPS,
            results=runner.results, findings_by_step=runner.findings,
            backup_id=restored_backup(runner.results),
            details={**restore_details(runner.results, disaster_at=disaster,
                                       pitr_window=window_details(target, servers.store, signing_key=servers.signing_key)),
                       "scratch": torn},
            measurements=measurements(runner.results),
        )
        record, findings = record_with_evidence(history_url, lambda: servers.store, target, record, findings)
        write_proof(servers.store, target, runner.results, record)
    return record, findings
