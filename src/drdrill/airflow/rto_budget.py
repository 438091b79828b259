"""The RTO budget of a running drill: Airflow's Deadline Alert at the target's RTO objective plus
``notify.rto_alert_margin``, posting to Slack while the run is still going, and what the record says of it.

The alert's clock starts when the run is queued (Airflow's ``DAGRUN_QUEUED_AT``): time spent waiting for a pool
slot or a worker counts, as it would in a real recovery. The scheduler sees the deadline pass and the triggerer
posts the message (``RtoBudgetNotifier``). Not armed, and the record says why:
- for a target without Slack (nowhere to post);
- for a production failover drill, which waits for a human approval first (the wait is not recovery time);
- under ``airflow dags test`` / ``dag.test()``: nothing evaluates deadlines there (no scheduler), and Airflow 3.3
  fails such a run's end when the DAG carries one (apache/airflow#73428), so ``BudgetedDAG.test`` runs without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
from airflow.sdk import DAG
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

from drdrill.config import Target
from drdrill.durations import format_duration

BUDGETED_DRILLS = ("restore", "pitr", "failover")
NOT_UNDER_DAG_TEST = ("not armed under airflow dags test / dag.test(): only a scheduler evaluates Deadline "
                      "Alerts; it is armed when the scheduler runs the drill")


def budget(target: Target) -> timedelta:
    """How long a run may go before the alert: the RTO objective plus the margin."""
    return target.objectives.rto + target.notify.rto_alert_margin


def unarmed_reason(target: Target, drill: str) -> str | None:
    """Why the drill's DAG carries no RTO budget alert, or None when it does."""
    if drill not in BUDGETED_DRILLS:
        return f"{drill} drills have no RTO objective"
    if not target.notify.slack_conn_id:
        return "Slack is off for this target (notify.slack_conn_id: null): nowhere to post"
    if drill == "failover" and target.production:
        return "a production failover drill waits for approval first, and a deadline from the run's queue time " \
               "would count the wait"
    return None


def deadline_alert(target: Target, drill: str) -> DeadlineAlert | None:
    """The Deadline Alert for the target's drill DAG, or None when ``unarmed_reason`` names why not."""
    if unarmed_reason(target, drill):
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=budget(target), name=f"rto_budget_{drill}",
        callback=AsyncCallback(RtoBudgetNotifier, kwargs={
            "slack_webhook_conn_id": target.notify.slack_conn_id, "target": target.name, "drill": drill,
            "objective": format_duration(target.objectives.rto),
            "margin": format_duration(target.notify.rto_alert_margin)}))


class BudgetedDAG(DAG):
    """A drill DAG that may carry its RTO budget alert; ``test()`` runs it without the alert (see the module)."""

    def test(self, *args: Any, **kwargs: Any) -> Any:
        with self._without_deadline():
            return super().test(*args, **kwargs)

    @contextmanager
    def _without_deadline(self) -> Iterator[None]:
        armed, self.deadline = self.deadline, None
        try:
            yield
        finally:
            self.deadline = armed


def budgeted(dag: Any, target: Target, drill: str) -> Any:
    """``dag`` with its RTO budget alert when the drill has one (``BudgetedDAG`` drill DAGs only)."""
    alert = deadline_alert(target, drill)
    if alert is not None:
        if not isinstance(dag, BudgetedDAG):
            raise TypeError(f"the {drill} drill's DAG must be a BudgetedDAG to carry its RTO budget alert")
        dag.deadline = alert
    return dag


def budget_details(context: Any, target: Target, drill: str, now: datetime | None = None) -> dict[str, Any]:
    """What the record says of the budget: armed or why not, the deadline, and whether (and when) it was breached.

    The deadline is counted from the run's ``run_after`` (when a manual or asset-triggered run was created and
    queued; the scheduler's own clock, ``queued_at``, is not in a task's context).
    """
    reason = unarmed_reason(target, drill)
    dag = context.get("dag")
    if reason is None and dag is not None and not getattr(dag, "deadline", None):
        reason = NOT_UNDER_DAG_TEST
    now = now or datetime.now(timezone.utc)
    started = getattr(context.get("dag_run"), "run_after", None) or now
    deadline_at = started.astimezone(timezone.utc) + budget(target)
    details: dict[str, Any] = {"armed": reason is None, "budget": format_duration(budget(target)),
                               "deadline_at": deadline_at.isoformat(), "breached": now > deadline_at}
    if now > deadline_at:
        details["breached_at"] = deadline_at.isoformat()
    if reason:
        details["why"] = reason
    return details


class RtoBudgetNotifier(SlackWebhookNotifier):
    """Posts "still running past its RTO budget" from the triggerer, with the run's link (``[api] base_url``)."""

    def __init__(self, *, target: str, drill: str, objective: str, margin: str, **kwargs: Any) -> None:
        super().__init__(text="", **kwargs)
        self.target = target
        self.drill = drill
        self.objective = objective
        self.margin = margin

    async def async_notify(self, context: Any) -> None:
        """Compose the message from the deadline's context (the run and its deadline time), then post it."""
        self.text = budget_text(context, target=self.target, drill=self.drill, objective=self.objective,
                                margin=self.margin, base_url=_api_base_url())
        await super().async_notify(context)


def budget_text(context: Any, *, target: str, drill: str, objective: str, margin: str, base_url: str) -> str:
    """The message: which drill run is past its budget since when, against which objective, and its link."""
    run = context.get("dag_run") or {}  # the REST API's DAG run (dag_run_id), as the scheduler hands it over
    run_id = run.get("dag_run_id") or run.get("run_id")
    deadline = (context.get("deadline") or {}).get("deadline_time", "?")
    lines = [f":warning: drdrill *{drill}* drill for target *{target}* is still running past its RTO budget "
             f"(objective {objective} + margin {margin}; deadline {deadline}).",
             "The recovery this drill rehearses would miss its RTO: see which step is slow in the run."]
    if run.get("dag_id") and run_id:
        lines.append(f"Run: {base_url}/dags/{run['dag_id']}/runs/{quote(run_id, safe='')}" if base_url else
                     f"Run: {run['dag_id']} / {run_id}")
    return "\n".join(lines)


def _api_base_url() -> str:
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback="") or "").rstrip("/")
