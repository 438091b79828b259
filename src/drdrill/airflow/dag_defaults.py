"""What every drill DAG shares: owner, tags, docs, one active run, Slack callbacks from the target's config,
bounds on every task and run (``config.timeouts``), the heavy tasks in the configured pools, the RTO budget alert
(``rto_budget``), and one DAG per target — a target whose config entry is
broken gets a DAG that fails at once, saying why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pendulum

from drdrill.config import BrokenTarget, Pools, Target, load_config
from drdrill.config.timeouts import run_timeout, task_timeout
from drdrill.drill_kinds import BY_NAME

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
# The tasks that run in ``settings.pools``: (drill, task id) -> the pool's key.
POOLED_TASKS = {("backup", "dump_and_upload"): "backup", ("backup", "verify"): "backup",
                ("restore", "recover"): "recovery", ("pitr", "recover"): "recovery"}


def dag_arguments(target: Target, *, drill: str, doc: str | None) -> dict[str, Any]:
    """Keyword arguments for ``@dag`` that every drill kind uses, its ``dag_id`` among them."""
    header = f"**Target `{target.name}`**: {target.description or 'no description'} — databases " \
             f"{', '.join(target.databases)}, engine `{target.engine}`, RTO objective " \
             f"{target.objectives.rto}, RPO objective {target.objectives.rpo}.\n\n"
    return {
        "dag_id": BY_NAME[drill].dag_id(target.name),
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["drdrill", drill, f"target:{target.name}", *target.tags],
        "doc_md": header + (doc or ""),
        "default_args": {"owner": target.owner, "retries": 0},
        "description": f"drdrill {drill} drill for {target.name}",
    }


def failure_callbacks(target: Target, drill: str) -> dict[str, Any]:
    """``on_failure_callback`` (and the optional success summary) posting to the target's Slack webhook."""
    from drdrill.airflow.notify import DrillSlackNotifier

    notify = target.notify
    target_name = target.name
    if not notify.slack_conn_id:
        return {}
    callbacks: dict[str, Any] = {
        "on_failure_callback": DrillSlackNotifier(slack_webhook_conn_id=notify.slack_conn_id,
                                                  target=target_name, drill=drill)
    }
    if notify.on_success:
        callbacks["on_success_callback"] = DrillSlackNotifier(slack_webhook_conn_id=notify.slack_conn_id,
                                                              target=target_name, drill=drill, success=True)
    return callbacks


def per_target_dags(
    build: Callable[[Target], Any], *, drill: str, include: Callable[[Target], bool] = lambda target: True
) -> dict[str, Any]:
    """``build(target)`` for every target ``include`` accepts, and a failing DAG for each broken target.

    One target's typo leaves every other target's DAGs loaded: its own DAG id shows the error instead
    (the failover drill gets none: whether the broken target allows failover drills is unknown).
    """
    config = load_config()
    from drdrill.airflow.rto_budget import budgeted

    dags = {target.name: budgeted(pooled(bounded(build(target), target, drill), config.settings.pools, drill),
                                  target, drill)
            for target in config.targets if include(target)}
    if drill != "failover":
        dags.update({broken.name: config_error_dag(broken, drill) for broken in config.broken})
    return dags


def bounded(dag: Any, target: Target, drill: str) -> Any:
    """``dag`` with an ``execution_timeout`` on every task and a ``dagrun_timeout`` (``config.timeouts``): a hung
    tool ends its task (a TASK_TIMEOUT finding, ``runtime.run_step``) instead of holding the run forever."""
    for task in dag.tasks:
        task.execution_timeout = task_timeout(target, drill, task.task_id)
    dag.dagrun_timeout = run_timeout(target, drill, [(task.task_id, task.retries or 0) for task in dag.tasks])
    return dag


def pooled(dag: Any, pools: Pools, drill: str) -> Any:
    """``dag`` with its heavy tasks in the installation's Airflow pools (``settings.pools``; unset: default_pool),
    so the scheduler queues them instead of starting more dumps or scratch servers than the workers hold."""
    for task in dag.tasks:
        kind = POOLED_TASKS.get((drill, task.task_id))
        name = getattr(pools, kind) if kind else None
        if name:
            task.pool = name
    return dag


def config_error_dag(broken: BrokenTarget, drill: str) -> Any:
    """A DAG under the broken target's DAG id whose one task fails at once with the config problem."""
    from airflow.sdk.exceptions import AirflowFailException
    from airflow.sdk import DAG, task

    error = broken.error()
    with DAG(
        dag_id=BY_NAME[drill].dag_id(broken.name),
        schedule="@once",
        start_date=START_DATE,
        catchup=False,
        tags=["drdrill", drill, f"target:{broken.name}", "config-error"],
        description=f"CONFIG ERROR in {error.file} at {error.key}: this target does not drill until it is fixed",
        doc_md=f"**This target's entry in the drills YAML is broken; nothing drills it.**\n\n`{error}`",
    ) as dag:

        @task(task_id="config_error", retries=0)
        def config_error() -> None:
            raise AirflowFailException(str(error))

        config_error()
    return dag
