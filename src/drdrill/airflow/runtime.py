"""Glue between Airflow tasks and the library: config, connections, step results and findings via XCom."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from drdrill.airflow.healing import cannot_heal
from drdrill.drill_kinds import BY_NAME, KINDS
from drdrill.drill_record import StepRunner
from drdrill.durations import format_duration
from drdrill.findings import DrillFailed, Finding, error_finding
from drdrill.servers.owner import bind_runs_to_this_process
from drdrill.config import DrillConfig, Target, load_config
from drdrill.config.timeouts import timeout_key

if TYPE_CHECKING:
    from drdrill.drill_locks import Holder
    from drdrill.history import DrillRecord

T = TypeVar("T")
FINDINGS_KEY = "findings"
OUTCOME_KEY = "outcome"
SPAN_KEY = "span_steps"
LOCK_FALLBACK = timedelta(hours=12)  # a DAG without a dagrun_timeout (none of drdrill's) holds its target this long
ENDED_RUN_STATES = ("success", "failed")
log = logging.getLogger(__name__)


def config() -> DrillConfig:
    """The drills config, read at run time (the same file the DAGs were generated from)."""
    return load_config()


def target(name: str) -> Target:
    """One target of the config."""
    return config().target(name)


def work_dir() -> Path:
    """Scratch space for tools."""
    path = Path(config().settings.work_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_time(context: Any) -> datetime:
    """The run's own time (run_after), so a re-run of a run reuses it."""
    dag_run = context.get("dag_run")
    when = getattr(dag_run, "run_after", None) or getattr(dag_run, "logical_date", None)
    return when.astimezone(timezone.utc) if when else datetime.now(timezone.utc)


def run_step(context: Any, step: Callable[[], T]) -> T:
    """Run a library step; on failure push its findings to XCom first, then fail the task (findings: without retry).

    The failure is read by ``step_failure``: a finding does not go away by retrying, nor does a bound passed (a retry
    starts past it too); an unexpected error is retried (a network or S3 hiccup heals) unless it cannot heal.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowTaskTimeout

    ti = context["ti"]
    try:
        return step()
    except (AirflowTaskTimeout, Exception) as exc:  # the timeout is a BaseException: ``Exception`` does not see it
        failure = step_failure(exc, context, f"Task {ti.task_id}")
        ti.xcom_push(key=FINDINGS_KEY, value=[finding.to_dict() for finding in failure.findings])
        if failure.outcome is not None:  # evidence of a step that found problems (e.g. measurements)
            ti.xcom_push(key=OUTCOME_KEY, value=failure.outcome)
        if failure.may_heal:
            raise
        if failure.timed_out:
            raise AirflowFailException(failure.findings[0].message) from exc
        if isinstance(exc, DrillFailed):
            raise AirflowFailException(str(exc)) from exc
        raise AirflowFailException(f"{type(exc).__name__}: {exc} (not retried: it cannot heal)") from exc


@dataclass(frozen=True)
class StepFailure:
    """How a step that raised ends: its findings, the evidence it left (``outcome``), whether it ran past its task's
    bound, and whether a retry may heal it."""

    findings: list[Finding]
    outcome: Any = None
    timed_out: bool = False
    may_heal: bool = False


def step_failure(exc: BaseException, context: Any, where: str) -> StepFailure:
    """What an exception of a step means, one rule for tasks (``run_step``) and spans (``SpanRunner``): past the
    task's ``execution_timeout`` (or an error of the cleanup after it stopped the step) is TASK_TIMEOUT; a DrillFailed
    carries its findings; anything else is COULD_NOT_VERIFY (a step that could not check is never a pass), which a
    retry may heal unless it cannot (``healing.cannot_heal``: no space, a refused login, a config error)."""
    if timed_out(exc):
        return StepFailure([timeout_finding(context, where)], timed_out=True)
    if isinstance(exc, DrillFailed):
        return StepFailure(exc.findings, exc.outcome)
    return StepFailure([error_finding(where, exc)], may_heal=not cannot_heal(exc))


def timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` is Airflow's execution timeout, or an error raised while a step cleaned up after it."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, AirflowTaskTimeout):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def timeout_finding(context: Any, where: str) -> Finding:
    """TASK_TIMEOUT for the task of ``context`` that ran past its ``execution_timeout``, naming the key that sets it."""
    task, dag_id = context["ti"].task, getattr(context.get("dag"), "dag_id", "")
    kind = next((kind for kind in KINDS if dag_id.startswith(f"dr_{kind.schedule_key}__")), None)
    target_name = dag_id.split("__", 1)[-1]
    key = timeout_key(kind.name, context["ti"].task_id) if kind else "timeouts"
    bound = format_duration(task.execution_timeout) if task.execution_timeout else "its execution_timeout"
    return Finding("TASK_TIMEOUT", f"{where} ran longer than its bound of {bound} and was stopped (the bound is "
                   f"{key} of target {target_name}).",
                   f"Find what hung in the task's log (a stalled tool, server or S3 endpoint); if the work really "
                   f"takes longer, raise {key} for target {target_name} (or in defaults).",
                   {"task": context["ti"].task_id, "bound": bound, "key": key})


def hold_target(context: Any, target_name: str, drill: str) -> None:
    """Take the target's drill lock for this run (``drill_locks.hold``: DRILL_CONFLICT when a conflicting drill of
    the same target still holds it after ``timeouts.lock_wait``, before the task touches anything). Called by a
    drill's first task; ``finish_drill`` releases it."""
    from drdrill import drill_locks

    drill_locks.hold(config().settings.history_url, target=target_name, drill=drill, run_id=context["run_id"],
                     wait=target(target_name).timeouts.lock_wait,
                     expires_in=getattr(context.get("dag"), "dagrun_timeout", None) or LOCK_FALLBACK,
                     ended=dag_run_ended(context["ti"]))


def dag_run_ended(ti: Any) -> Callable[[Holder], bool]:
    """Whether Airflow says a holder's DAG run has ended (success or failed), asked through this task's instance
    (``ti.get_dagrun_state``, the Task SDK's public task-instance protocol); False when it cannot tell (no such
    run, e.g. a hold from elsewhere, or no answer): such a hold is honoured until it expires."""

    def ended(holder: Holder) -> bool:
        kind = BY_NAME.get(holder.drill)
        if kind is None:
            return False
        try:
            state = ti.get_dagrun_state(kind.dag_id(holder.target), holder.run_id)
        except Exception as exc:  # the Execution API's answer for an unknown run, or none at all
            log.debug("cannot tell whether %s still runs: %s", holder.describe(), exc)
            return False
        return str(getattr(state, "value", state)) in ENDED_RUN_STATES

    return ended


class SpanRunner(StepRunner):
    """Runs the steps one task holds together (a span: steps that share files or a server on the worker that
    runs them). Each step's result and findings go to XCom as soon as it ends, so a worker that dies mid-span
    still leaves what its finished steps found; an unexpected error is a finding of its step. What the span
    creates on the worker is bound to this task's process: once it is dead, the next drill there removes it."""

    def __init__(self, context: Any) -> None:
        bind_runs_to_this_process()
        super().__init__(after_step=self._push)
        self.context = context
        self.ti = context["ti"]

    def attempt(self, step: str, call: Callable[[], Any]) -> Any:
        from airflow.sdk.exceptions import AirflowTaskTimeout

        def guarded() -> Any:
            try:
                return call()
            except (AirflowTaskTimeout, Exception) as exc:  # after a timeout the rest of the span is skipped; its
                failure = step_failure(exc, self.context, f"Step {step} of task {self.ti.task_id}")  # teardown runs
                if isinstance(exc, DrillFailed) and not failure.timed_out:
                    raise
                raise DrillFailed(failure.findings) from exc

        return super().attempt(step, guarded)

    def _push(self, runner: StepRunner) -> None:
        self.ti.xcom_push(key=SPAN_KEY, value={
            "results": runner.results,
            "findings": {step: [finding.to_dict() for finding in found] for step, found in runner.findings.items()}})

    def finish(self, result: T) -> T:
        """The span task's end: failed for findings (never retried: a drill interrupted is not verified, and a
        retry would measure its RTO across the gap), else ``result``."""
        from airflow.sdk.exceptions import AirflowFailException

        if self.findings:
            codes = sorted({finding.code for found in self.findings.values() for finding in found})
            raise AirflowFailException(f"Steps {', '.join(self.findings)} found: {', '.join(codes)}")
        return result


def pull_results(context: Any, steps: list[str], spans: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, list[Finding]]]:
    """Each step's return value (or the evidence it pushed before failing) and its findings; ``spans``: the
    tasks that ran several steps (``SpanRunner``), whose steps are read from their XCom."""
    ti = context["ti"]
    results = {step: ti.xcom_pull(task_ids=step) or ti.xcom_pull(task_ids=step, key=OUTCOME_KEY) for step in steps}
    findings = {
        step: [Finding.from_dict(item) for item in (ti.xcom_pull(task_ids=step, key=FINDINGS_KEY) or [])]
        for step in steps
    }
    for span in spans:
        pushed = ti.xcom_pull(task_ids=span, key=SPAN_KEY) or {}
        for step, result in (pushed.get("results") or {}).items():
            results[step] = result
        for step, found in (pushed.get("findings") or {}).items():
            findings[step] = [Finding.from_dict(item) for item in found]
    return results, findings


def finish_drill(context: Any, *, target_name: str, drill: str, steps: list[str], backup_id: str | None = None,
                 details: dict[str, Any] | None = None, measurements: dict[str, Any] | None = None,
                 slack_lines: dict[str, str] | None = None, dry_run: bool = False,
                 found: Mapping[str, list[Finding]] | None = None, spans: tuple[str, ...] = (),
                 after_record: Callable[[Mapping[str, Any], DrillRecord], object] | None = None) -> dict[str, Any]:
    """The record task of every drill: write the record, then fail the run (and alert) unless it passed.

    ``found``: findings the record task itself made about a step (by step name), added to the step's own.
    ``spans``: the tasks that ran several steps (``pull_results``).
    ``after_record``: called with the steps' results and the record once it is written, whatever the verdict
    (the restore drill writes the backup's proof there).
    """
    from drdrill.findings import PASSED
    from drdrill.drill_record import build_record
    from drdrill.history import record_drill

    results, findings = pull_results(context, steps, spans)
    for step, extra in (found or {}).items():
        findings[step] = [*findings.get(step, []), *extra]
    started = getattr(context["dag_run"], "start_date", None) or run_time(context)
    from drdrill.airflow.rto_budget import BUDGETED_DRILLS, budget_details

    if drill in BUDGETED_DRILLS:
        details = {**(details or {}), "rto_budget": budget_details(context, target(target_name), drill)}
    record, all_findings = build_record(
        run_id=context["run_id"], target=target_name, drill=drill, started_at=started.isoformat(), steps=steps,
        results=results, findings_by_step=findings, backup_id=backup_id, dry_run=dry_run,
        details={**(details or {}), "airflow_run": context["ti"].log_url.split("/tasks/")[0]},
        measurements=measurements,
    )
    from drdrill.airflow.connections import object_store
    from drdrill.airflow.run_trigger import run_trigger
    from drdrill.drill_locks import release
    from drdrill.storage.evidence import with_evidence
    from drdrill.storage.layout import TargetLayout

    drilled = target(target_name)
    record, all_findings = with_evidence(lambda: object_store(drilled.storage), TargetLayout(drilled.storage.prefix, target_name),
                                         record, all_findings, trigger=run_trigger(context))

    try:
        record_drill(config().settings.history_url, record)
        if after_record is not None:
            after_record(results, record)
    finally:  # the drill is over: conflicting drills of the target may start
        release(config().settings.history_url, target=target_name, run_id=context["run_id"])
    if record.verdict != PASSED:
        raise DrillFailed(all_findings or [Finding("COULD_NOT_VERIFY", "The drill produced no result.")],
                          failed_steps=record.details["failed_steps"],
                          measurements={**(slack_lines or {}), **evidence_line(record)})
    return record.to_dict()


def evidence_line(record: DrillRecord) -> dict[str, str]:
    """The Slack line linking the run's evidence page, when it was stored."""
    return {"evidence": record.details["evidence_uri"]} if record.details.get("evidence_uri") else {}
