"""Turn a drill's step results and findings into one verdict and a drill record, whichever path ran the steps.

The Airflow record task (``airflow.runtime``) and every in-process runner use it, so a run counts the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from drdrill.findings import PASSED, DrillFailed, Finding, verdict_of
from drdrill.history import DrillRecord


class StepRunner:
    """Runs a drill's steps in one process (the CLI's path, and the DAG's tasks that run several steps), keeping
    results and findings as the DAG's XCom would. ``after_step`` is called with the runner after each step."""

    def __init__(self, after_step: Callable[[StepRunner], None] | None = None) -> None:
        self.results: dict[str, Any] = {}
        self.findings: dict[str, list[Finding]] = {}
        self.after_step = after_step

    def attempt(self, step: str, call: Callable[[], Any]) -> Any:
        """Run one step; a DrillFailed is recorded (not raised) and the step's result is None.

        Ctrl-C (or SIGTERM, which the CLI turns into it) stops the step the same way, with COULD_NOT_VERIFY: the
        caller's cleanup and the record still follow, and the run is never green.
        """
        try:
            self.results[step] = call()
        except DrillFailed as exc:
            self.findings[step] = exc.findings
            self.results[step] = exc.outcome
        except KeyboardInterrupt:
            self.findings[step] = [Finding("COULD_NOT_VERIFY", f"The drill was interrupted during step {step}; "
                                           "it stopped there and ran its cleanup.", "Run the drill again to the end.")]
            self.results[step] = None
        finally:
            if self.after_step is not None:
                self.after_step(self)
        return self.results.get(step) if step not in self.findings else None


def missing_step_findings(steps: Sequence[str], results: Mapping[str, Any],
                          findings_by_step: Mapping[str, list[Finding]], dry_run: bool = False) -> list[Finding]:
    """The first step that neither produced a result nor explained its failure: 'could not verify', never passed.

    Steps after a step that failed (with findings or without) were never meant to run, so only the
    first gap in the chain is reported.
    """
    if dry_run:
        return []
    for step in steps:
        if findings_by_step.get(step):
            return []
        if results.get(step) is None:
            return [Finding("COULD_NOT_VERIFY", f"Step {step} did not complete and left no finding (it was "
                            "skipped, killed or failed before it could report).", "Open the task's log in Airflow.",
                            {"step": step})]
    return []


def build_record(
    *,
    run_id: str,
    target: str,
    drill: str,
    started_at: str,
    steps: Sequence[str],
    results: Mapping[str, Any],
    findings_by_step: Mapping[str, list[Finding]],
    backup_id: str | None = None,
    dry_run: bool = False,
    details: dict[str, Any] | None = None,
    measurements: dict[str, float | None] | None = None,
) -> tuple[DrillRecord, list[Finding]]:
    """The record and the full list of findings (including steps that vanished without one)."""
    findings = [finding for step in steps for finding in findings_by_step.get(step, [])]
    findings += [Finding.from_dict(item) for step in steps  # a step that returned its findings with its result
                 if isinstance(results.get(step), Mapping) and not findings_by_step.get(step)
                 for item in results[step].get("findings", [])]
    findings += missing_step_findings(steps, results, findings_by_step, dry_run)
    stage_seconds = {step: float(result["seconds"]) for step, result in results.items()
                     if isinstance(result, Mapping) and result.get("seconds") is not None}
    record = DrillRecord(
        run_id=run_id, target=target, drill=drill, verdict=verdict_of(findings),
        started_at=started_at, finished_at=datetime.now(timezone.utc).isoformat(), backup_id=backup_id,
        stage_seconds=stage_seconds, findings=[finding.to_dict() for finding in findings],
        details={**(details or {}), "dry_run": dry_run,
                 "failed_steps": [step for step in steps
                                  if any(f.verdict != PASSED for f in findings_by_step.get(step, []))]
                 + [f.evidence["step"] for f in findings if f.code == "COULD_NOT_VERIFY" and "step" in f.evidence]},
        **(measurements or {}),
    )
    return record, findings
