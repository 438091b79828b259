"""Bodies of the failover drill DAG's tasks: the run's context → the shared steps (``failover_steps``), results via XCom."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drdrill.airflow import failover_steps, runtime
from drdrill.airflow.failover_steps import RECORDED_STEPS, servers
from drdrill.drills import failover
from drdrill.servers.scratch import run_key


def _run(context: Any, step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``runtime.run_step`` with the step's wall time as ``seconds`` (the record's stage breakdown)."""
    return runtime.run_step(context, failover_steps.timed(step))


def _key(context: Any) -> str:
    return run_key(context["run_id"])


def _directory(context: Any) -> Any:
    return failover.run_dir(runtime.work_dir(), _key(context))


def _plan(context: Any) -> dict[str, Any]:
    return context["ti"].xcom_pull(task_ids="preflight") or context["ti"].xcom_pull(
        task_ids="preflight", key=runtime.OUTCOME_KEY) or {}


def preflight(target_name: str, context: Any) -> dict[str, Any]:
    """Checks that touch nothing; also what will be done, in words, for the approval request."""
    target = runtime.target(target_name)
    return _run(context, lambda: failover_steps.plan_drill(target, runtime.work_dir(), _key(context)))


def start_canary(target_name: str, context: Any) -> dict[str, Any]:
    target = runtime.target(target_name)
    plan = _plan(context)
    return _run(context, lambda: failover.start_canary(
        servers(target, plan["addresses"]), plan, context["run_id"], _directory(context)))


def inject_fault(target_name: str, context: Any) -> dict[str, Any]:
    target = runtime.target(target_name)
    plan = _plan(context)
    return _run(context, lambda: failover.inject(
        failover.fault_for(target, servers(target, plan["addresses"]), plan, runtime.work_dir(), _key(context))))


def _after(target_name: str, context: Any, previous: str, step: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A step of ``(target, plan, the result of task previous, *, work_dir, key)``."""
    target = runtime.target(target_name)
    plan = _plan(context)
    result = context["ti"].xcom_pull(task_ids=previous)
    return _run(context, lambda: step(target, plan, result, work_dir=runtime.work_dir(), key=_key(context)))


def detect(target_name: str, context: Any) -> dict[str, Any]:
    return _after(target_name, context, "inject_fault", failover_steps.detect_failure)


def promote(target_name: str, context: Any) -> dict[str, Any]:
    return _after(target_name, context, "detect", failover_steps.promote)


def redirect(target_name: str, context: Any) -> dict[str, Any]:
    """Point the source connection (what every other drill uses) at the new primary; run the user's hook."""
    target = runtime.target(target_name)
    return _run(context, lambda: failover_steps.redirect_source(target, _plan(context)))


def verify_writes(target_name: str, context: Any) -> dict[str, Any]:
    return _after(target_name, context, "detect", failover_steps.verify_new_writes)


def measure(target_name: str, context: Any) -> dict[str, Any]:
    """Bring the old primary back read-only, count what it had that the new primary lacks, judge RTO and RPO."""
    target = runtime.target(target_name)
    ti = context["ti"]
    return _run(context, lambda: failover_steps.measure_failover(
        target, _plan(context), {step: ti.xcom_pull(task_ids=step) for step in ("inject_fault", "detect", "promote", "verify_writes")},
        work_dir=runtime.work_dir(), key=_key(context), run_id=context["run_id"]))


def fail_back(target_name: str, context: Any) -> dict[str, Any]:
    """Old primary rejoins as a replica (errant transactions per policy), then roles switch back if configured."""
    target = runtime.target(target_name)
    return _run(context, lambda: failover_steps.restore_and_reconnect(
        target, _plan(context), work_dir=runtime.work_dir(), key=_key(context)))


def cleanup(target_name: str, context: Any) -> dict[str, Any]:
    """Teardown, whatever failed: stop the canary, undo the fault, restore the topology and the connection."""
    target = runtime.target(target_name)
    _, found = runtime.pull_results(context, ["fail_back"])
    return _run(context, lambda: failover_steps.clean_up(
        target, _plan(context), injected=context["ti"].xcom_pull(task_ids="inject_fault") is not None,
        fail_back_findings=found["fail_back"], work_dir=runtime.work_dir(), key=_key(context)))


def verify_consistency(target_name: str, context: Any) -> dict[str, Any]:
    """Roles as expected, replication running, per-table checksums equal; skipped when the drill never started."""
    target = runtime.target(target_name)
    plan = _plan(context)
    if not plan.get("addresses") or context["ti"].xcom_pull(task_ids="start_canary") is None:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("The drill touched nothing, so there is no topology to verify.")
    promoted = context["ti"].xcom_pull(task_ids="promote") is not None
    return _run(context, lambda: failover_steps.verify_topology(target, plan, promoted=promoted,
                                                                 work_dir=runtime.work_dir(), key=_key(context)))


def _approval(context: Any) -> tuple[list[str], dict[str, list[Any]]]:
    """A production run's recorded steps (with approve), and NOT_APPROVED unless the approver approved."""
    from drdrill.airflow import approval

    plan, findings = runtime.pull_results(context, ["preflight"])
    answer = context["ti"].xcom_pull(task_ids=approval.APPROVE_TASK, key=approval.ANSWER_KEY)
    passed = plan["preflight"] is not None and not findings["preflight"]
    return (approval.recorded_steps(RECORDED_STEPS),
            {approval.APPROVE_TASK: approval.approval_findings(answer, preflight_passed=passed)})


def record(target_name: str, context: Any) -> dict[str, Any]:
    """Write the drill record; fail the run (and alert) unless the verdict is passed."""
    steps, found = _approval(context) if runtime.target(target_name).production else (RECORDED_STEPS, {})
    results, _ = runtime.pull_results(context, steps)
    details, measurements, lines = failover_steps.record_fields(results)
    return runtime.finish_drill(
        context, target_name=target_name, drill="failover", steps=steps, details=details,
        measurements=measurements, slack_lines=lines or None, found=found,
    )
