"""The failover drill in one process (``drdrill failover``): the step list in the DAG's order, the DAG's record.

preflight → start_canary → inject_fault → detect → promote → redirect → verify_writes → measure → fail_back,
then cleanup whatever happened (as the DAG's teardown), verify_consistency and the record. The caller (the
CLI) resolves the target's connections; the source connection is redirected in the Airflow metastore through
them, as the DAG does, so other drills follow the new primary.

Before anything is touched an error is an error (the CLI exits 2); after that, a step that breaks is a
COULD_NOT_VERIFY finding, so that cleanup and the record still happen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from drdrill.drills.failover.managed import ManagedPath
from drdrill.drills.failover.path import FailoverPath, Results, Run
from drdrill.drills.failover.report import record_fields
from drdrill.drills.failover.self_managed import SelfManagedPath
from drdrill.drills.failover.steps import CLEANUP, FAIL_OVER, PREFLIGHT, RECORDED_STEPS, VERIFY, timed
from drdrill.drill_record import StepRunner, build_record
from drdrill.drills.target_lock import holding_target
from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed, Finding, error_finding
from drdrill.drills.local_record import record_with_evidence
from drdrill.history import DrillRecord
from drdrill.servers.faults import is_managed
from drdrill.servers.reaper import reap_orphans

Attempt = Callable[[str, Callable[[], dict[str, Any]]], "dict[str, Any] | None"]


class ApprovalRequired(DrdrillError):
    """A production target's failover drill needs an explicit approval; ``approval_text`` says what it would do."""

    def __init__(self, target: str, approval_text: str) -> None:
        self.approval_text = approval_text
        super().__init__(f"Target {target!r} is marked production: the failover drill breaks its primary for real "
                         "and was not started (preflight passed, nothing was touched).",
                         "read what it will do, then run it again with --yes-i-approve.")


def path_for(run: Run) -> FailoverPath:
    """The run's path, chosen once from the target's fault."""
    return ManagedPath(run) if is_managed(run.target.failover_drill.fault) else SelfManagedPath(run)


def call(path: FailoverPath, step: str, results: Results) -> dict[str, Any]:
    """Step ``step`` (a name in ``steps.FAIL_OVER``) of ``path``, on the earlier steps' ``results``."""
    method: Callable[[Results], dict[str, Any]] = getattr(path, step)
    return method(results)


def _raise(_step: str, call_step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return call_step()


def fail_over(path: FailoverPath, results: dict[str, Any], attempt: Attempt = _raise) -> None:
    """start_canary … fail_back in order, each result added to ``results`` (preflight's plan already there).

    ``attempt(step, run)`` runs one step and returns its result, or None to stop there; by default a step's
    error propagates.
    """
    for step in FAIL_OVER:
        result = attempt(step, lambda: call(path, step, results))
        if result is None:
            return
        results[step] = result


def run_failover_drill(run: Run, *, history_url: str, started_at: datetime, dry_run: bool = False,
                       approved: bool = False) -> tuple[DrillRecord, list[Finding]]:
    """All steps in one process, cleanup included, holding the target as the DAG does (``target_lock``: no backup,
    archive, restore or PITR of it meanwhile), recorded as the DAG's record task does.

    ``dry_run`` runs the preflight only and records nothing. A production target raises ApprovalRequired after
    its preflight unless ``approved``.
    """
    target = run.target
    run.work_dir.mkdir(parents=True, exist_ok=True)
    reap_orphans(run.work_dir)
    runner = StepRunner()
    path = path_for(run)
    with holding_target(target, "failover", history_url=history_url, run_id=run.run_id,
                        steps=RECORDED_STEPS) as first:
        plan = runner.attempt(PREFLIGHT, first(timed(path.preflight)))
        if plan and target.production and not approved and not dry_run:
            raise ApprovalRequired(target.name, plan["approval_text"])
        if plan and not dry_run:
            try:
                fail_over(path, runner.results, lambda step, call_step: _attempt(runner, step, call_step))
            finally:  # the DAG's teardown: also after a failed step or an interrupt
                # A fault that was attempted counts as injected (it may have struck before failing or being interrupted).
                attempted = "inject_fault" in runner.results or "inject_fault" in runner.findings
                _attempt(runner, CLEANUP, lambda: path.cleanup(
                    runner.results, injected=attempted, fail_back_findings=runner.findings.get("fail_back", [])))
            if runner.results.get("start_canary") is not None:
                _attempt(runner, VERIFY, lambda: path.verify_consistency(runner.results))
        details, measurements, _ = record_fields(runner.results)
        if dry_run and plan:
            details["approval_text"] = plan["approval_text"]
        record, findings = build_record(
            run_id=run.run_id, target=target.name, drill="failover", started_at=started_at.isoformat(),
            steps=RECORDED_STEPS, results=runner.results, findings_by_step=runner.findings,
            dry_run=dry_run, details=details, measurements=measurements)
        if not dry_run:
            record, findings = record_with_evidence(history_url, run.connections.store, target, record, findings,
                                                    approval="--yes-i-approve" if approved else None)
    return record, findings


def _attempt(runner: StepRunner, step: str, call_step: Callable[[], dict[str, Any]]) -> Any:
    """Run a step that may have touched the servers: any error becomes a finding, so cleanup and the record follow."""
    def reported() -> dict[str, Any]:
        try:
            return timed(call_step)()
        except DrillFailed:
            raise
        except Exception as exc:
            raise DrillFailed([error_finding(f"Step {step}", exc)]) from exc

    return runner.attempt(step, reported)
