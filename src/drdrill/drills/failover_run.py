"""The failover drill in one process (``drdrill failover``): the DAG's steps in the DAG's order, the DAG's record.

preflight → start_canary → inject_fault → detect → promote → redirect → verify_writes → measure → fail_back,
then cleanup whatever happened (as the DAG's teardown), verify_consistency and the record. The source
connection is redirected in the Airflow metastore, as the DAG does, so other drills follow the new primary.

Before anything is touched an error is an error (the CLI exits 2); after that, a step that breaks is a
COULD_NOT_VERIFY finding, so that cleanup and the record still happen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from drdrill.airflow import failover_steps
from drdrill.findings import DrillFailed, Finding, error_finding
from drdrill.config import Target
from drdrill.drills import failover
from drdrill.drills.record import StepRunner, build_record
from drdrill.servers.scratch import run_key
from drdrill.errors import DrdrillError
from drdrill.history import DrillRecord, record_drill


class ApprovalRequired(DrdrillError):
    """A production target's failover drill needs an explicit approval; ``approval_text`` says what it would do."""

    def __init__(self, target: str, approval_text: str) -> None:
        self.approval_text = approval_text
        super().__init__(f"Target {target!r} is marked production: the failover drill breaks its primary for real "
                         "and was not started (preflight passed, nothing was touched).",
                         "read what it will do, then run it again with --yes-i-approve.")


def run_failover_drill(target: Target, *, work_dir: Path, history_url: str, run_id: str, started_at: datetime,
                       dry_run: bool = False, approved: bool = False) -> tuple[DrillRecord, list[Finding]]:
    """All steps in one process, cleanup included, recorded as the DAG's record task does.

    ``dry_run`` runs the preflight only and records nothing. A production target raises ApprovalRequired after
    its preflight unless ``approved``.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    runner = StepRunner()
    key = run_key(run_id)
    plan = runner.attempt("preflight", failover_steps.timed(lambda: failover_steps.plan_drill(target, work_dir, key)))
    if plan and target.production and not approved and not dry_run:
        raise ApprovalRequired(target.name, plan["approval_text"])
    if plan and not dry_run:
        try:
            _fail_over(runner, target, plan, run_id=run_id, work_dir=work_dir, key=key)
        finally:  # the DAG's teardown: also after a failed step or an interrupt
            # A fault that was attempted counts as injected (it may have struck before failing or being interrupted).
            attempted = "inject_fault" in runner.results or "inject_fault" in runner.findings
            _attempt(runner, failover_steps.CLEANUP, lambda: failover_steps.clean_up(
                target, plan, injected=attempted, work_dir=work_dir, key=key,
                fail_back_findings=runner.findings.get("fail_back", [])))
        if runner.results.get("start_canary") is not None:
            _attempt(runner, "verify_consistency", lambda: failover_steps.verify_topology(
                target, plan, promoted=runner.results.get("promote") is not None, work_dir=work_dir, key=key))
    details, measurements, _ = failover_steps.record_fields(runner.results)
    if dry_run and plan:
        details["approval_text"] = plan["approval_text"]
    record, findings = build_record(
        run_id=run_id, target=target.name, drill="failover", started_at=started_at.isoformat(),
        steps=failover_steps.RECORDED_STEPS, results=runner.results, findings_by_step=runner.findings,
        dry_run=dry_run, details=details, measurements=measurements)
    if not dry_run:
        record_drill(history_url, record)
    return record, findings


def _fail_over(runner: StepRunner, target: Target, plan: dict[str, Any], *, run_id: str, work_dir: Path,
               key: str) -> None:
    """start_canary … fail_back, stopping at the first step that does not complete or is interrupted."""
    logins = failover_steps.servers(target, plan["addresses"])
    fault = failover.fault_for(target, logins, plan, work_dir, key)
    directory = failover.run_dir(work_dir, key)
    results = runner.results
    chain: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("start_canary", lambda: failover.start_canary(logins, plan, run_id, directory)),
        ("inject_fault", lambda: failover.inject(fault)),
        ("detect", lambda: failover_steps.detect_failure(target, plan, results["inject_fault"], work_dir=work_dir,
                                                         key=key)),
        ("promote", lambda: failover_steps.promote(target, plan, results["detect"], work_dir=work_dir, key=key)),
        ("redirect", lambda: failover_steps.redirect_source(target, plan)),
        ("verify_writes", lambda: failover_steps.verify_new_writes(target, plan, results["detect"], work_dir=work_dir,
                                                                   key=key)),
        ("measure", lambda: failover_steps.measure_failover(target, plan, results, work_dir=work_dir, key=key,
                                                             run_id=run_id)),
        ("fail_back", lambda: failover_steps.restore_and_reconnect(target, plan, work_dir=work_dir, key=key)),
    ]
    for step, call in chain:
        try:
            if _attempt(runner, step, call) is None:
                return
        except KeyboardInterrupt:  # Ctrl-C (or SIGTERM, see the CLI): stop here, then clean up and record
            runner.findings[step] = [Finding("COULD_NOT_VERIFY", f"The drill was interrupted during step {step}; "
                                             "it stopped there and ran its cleanup.", "Run the drill again to the end.")]
            return


def _attempt(runner: StepRunner, step: str, call: Callable[[], dict[str, Any]]) -> Any:
    """Run a step that may have touched the servers: any error becomes a finding, so cleanup and the record follow."""
    def reported() -> dict[str, Any]:
        try:
            return failover_steps.timed(call)()
        except DrillFailed:
            raise
        except Exception as exc:
            raise DrillFailed([error_finding(f"Step {step}", exc)]) from exc

    return runner.attempt(step, reported)
