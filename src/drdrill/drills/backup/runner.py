"""The backup drill in one process (the CLI's path): the DAG's steps in the DAG's order, the same record."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from drdrill.config import Target
from drdrill.drills.backup.steps import (
    STEPS,
    apply_retention,
    backup_details,
    dump_and_upload,
    preflight,
    verify,
    write_manifest,
)
from drdrill.drill_record import StepRunner, build_record
from drdrill.drills.backup.deep_verify import deep_verify_reason
from drdrill.drills.target_lock import holding_target
from drdrill.endpoints import MySQLEndpoint
from drdrill.findings import Finding
from drdrill.drills.local_record import record_with_evidence
from drdrill.history import DrillRecord
from drdrill.servers.reaper import reap_orphans
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.seal import SigningKey


def run_backup_drill(
    target: Target,
    source: MySQLEndpoint,
    store: ObjectStore,
    *,
    signing_key: SigningKey | None,
    work_dir: Path,
    history_url: str,
    run_id: str,
    started_at: datetime,
    engine_override: str | None = None,
    dry_run: bool = False,
    deep_verify: bool = False,
    copy: ObjectStore | None = None,
) -> tuple[DrillRecord, list[Finding]]:
    """All steps in one process (the CLI's path), holding the target as the DAG does (``target_lock``), recorded
    exactly as the DAG's record task does; ``copy``: the second copy's bucket (``storage.copy``)."""
    reap_orphans(work_dir)
    runner = StepRunner()
    attempt = runner.attempt
    with holding_target(target, "backup", history_url=history_url, run_id=run_id, steps=STEPS) as first:
        plan = attempt("preflight", first(lambda: preflight(target, source, store, work_dir=work_dir,
                                                            started_at=started_at, engine_override=engine_override,
                                                            dry_run=dry_run, deep_verify=deep_verify, copy=copy)))
        if plan and not dry_run:
            dumped = attempt("dump_and_upload", lambda: dump_and_upload(plan, target, source, store, work_dir=work_dir))
            if dumped:
                written = attempt("write_manifest", lambda: write_manifest(plan, dumped, target, source, store,
                                                                          signing_key=signing_key, work_dir=work_dir))
                if written and attempt("verify", lambda: verify(
                        plan, target, store, signing_key=signing_key, copy=copy,
                        deep_reason=deep_verify_reason(target, history_url, started_at, asked=deep_verify))):
                    attempt("retention", lambda: apply_retention(target, store, signing_key=signing_key,
                                                                 now=started_at, copy=copy))
        results, findings = runner.results, runner.findings
        record, all_findings = build_record(
            run_id=run_id, target=target.name, drill="backup", started_at=started_at.isoformat(), steps=STEPS,
            results=results, findings_by_step=findings, backup_id=plan["backup_id"] if plan else None,
            dry_run=dry_run, details=backup_details(results),
        )
        record, all_findings = record_with_evidence(history_url, lambda: store, target, record, all_findings)
    return record, all_findings
