"""What every drill DAG shares: owner, tags, docs, one active run, Slack callbacks from the target's config."""

from __future__ import annotations

from typing import Any

import pendulum

from drdrill.config import Target
from drdrill.drill_kinds import BY_NAME

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")


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
