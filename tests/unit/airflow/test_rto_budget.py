"""The RTO budget alert: armed on the drills that have an RTO and somewhere to post, at objective + margin from the
run's queue time; what the record says of it (armed or why not, breached and when); its message, really posted."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.definitions.deadline import DeadlineReference

from drdrill.airflow.rto_budget import (NOT_UNDER_DAG_TEST, BudgetedDAG, RtoBudgetNotifier, budget, budget_details,
                                        budget_text, budgeted, deadline_alert, unarmed_reason)
from drdrill.ports import find_free_port
from drdrill.sandbox.slack_sink import read_posts, serve
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
SLACK = "    notify: {slack_conn_id: drdrill_slack, rto_alert_margin: 90s}\n"
QUEUED = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


def context(*, armed: bool) -> dict:
    return {"dag": SimpleNamespace(deadline=["alert"] if armed else None), "dag_run": SimpleNamespace(run_after=QUEUED)}


def test_the_alert_is_at_the_rto_objective_plus_the_margin_from_the_run_queue_time(tmp_path: Path) -> None:
    target = load_test_target(tmp_path, extra=SLACK)
    assert budget(target) == timedelta(minutes=31, seconds=30)
    for drill in ("restore", "pitr", "failover"):
        alert = deadline_alert(target, drill)
        assert alert is not None and unarmed_reason(target, drill) is None
        assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT and alert.interval == budget(target)
        assert alert.callback.path == "drdrill.airflow.rto_budget.RtoBudgetNotifier"
        assert alert.callback.kwargs == {"slack_webhook_conn_id": "drdrill_slack", "target": "shop", "drill": drill,
                                         "objective": "30m", "margin": "1m30s"}


def test_no_alert_without_slack_for_a_production_failover_or_a_backup(tmp_path: Path) -> None:
    silent = load_test_target(tmp_path, extra="    notify: {slack_conn_id: null}\n")
    assert deadline_alert(silent, "restore") is None and "Slack is off" in unarmed_reason(silent, "restore")
    production = load_test_target(tmp_path, extra=SLACK + "    production: true\n")
    assert deadline_alert(production, "restore") is not None
    assert deadline_alert(production, "failover") is None and "approval" in unarmed_reason(production, "failover")
    assert deadline_alert(production, "backup") is None


def test_a_negative_margin_is_refused_and_zero_is_none(tmp_path: Path) -> None:
    assert budget(load_test_target(tmp_path)) == timedelta(minutes=30)  # the default margin: 0
    assert budget(load_test_target(tmp_path, extra="    notify: {rto_alert_margin: 0s}\n")) == timedelta(minutes=30)
    with pytest.raises(Exception, match="rto_alert_margin.*zero or more"):
        load_test_target(tmp_path, extra="    notify: {rto_alert_margin: -5m}\n")


def test_the_budgeted_dag_carries_the_alert_and_test_runs_without_it(tmp_path: Path) -> None:
    target = load_test_target(tmp_path, extra=SLACK)
    dag = budgeted(BudgetedDAG(dag_id="dr_restore_drill__shop", schedule=None), target, "restore")
    assert len(dag.deadline) == 1
    with dag._without_deadline():
        assert not dag.deadline
    assert len(dag.deadline) == 1
    from airflow.sdk import DAG

    with pytest.raises(TypeError, match="BudgetedDAG"):
        budgeted(DAG(dag_id="plain", schedule=None), target, "restore")
    assert budgeted(DAG(dag_id="plain_backup", schedule=None), target, "backup").deadline is None


def test_the_serialized_dag_keeps_the_alert_the_scheduler_evaluates(tmp_path: Path) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    target = load_test_target(tmp_path, extra=SLACK)
    dag = budgeted(BudgetedDAG(dag_id="dr_restore_drill__shop", schedule=None), target, "restore")
    serialized = json.dumps(DagSerialization.to_dict(dag))
    assert "RtoBudgetNotifier" in serialized and "DagRunQueuedAtDeadline" in serialized
    assert "1890" in serialized  # the interval, in seconds


def test_the_record_says_armed_and_breached_and_when(tmp_path: Path) -> None:
    target = load_test_target(tmp_path, extra=SLACK)
    deadline = QUEUED + timedelta(minutes=31, seconds=30)
    late = budget_details(context(armed=True), target, "restore", now=deadline + timedelta(seconds=1))
    assert late == {"armed": True, "budget": "31m30s", "deadline_at": deadline.isoformat(), "breached": True,
                    "breached_at": deadline.isoformat()}
    on_time = budget_details(context(armed=True), target, "restore", now=deadline - timedelta(seconds=1))
    assert on_time == {"armed": True, "budget": "31m30s", "deadline_at": deadline.isoformat(), "breached": False}


def test_the_record_says_why_the_alert_was_not_armed(tmp_path: Path) -> None:
    target = load_test_target(tmp_path, extra=SLACK)
    tested = budget_details(context(armed=False), target, "pitr", now=QUEUED)
    assert tested["armed"] is False and tested["why"] == NOT_UNDER_DAG_TEST and tested["breached"] is False
    silent = load_test_target(tmp_path, extra="    notify: {slack_conn_id: null}\n")
    assert "Slack is off" in budget_details(context(armed=False), silent, "restore", now=QUEUED)["why"]


def test_the_message_names_drill_target_budget_deadline_and_run_link() -> None:
    text = budget_text({"dag_run": {"dag_id": "dr_restore_drill__shop", "dag_run_id": "manual__2026-12-07T10:00:00+00:00"},
                        "deadline": {"deadline_time": "2026-12-07T10:31:30+00:00"}},
                       target="shop", drill="restore", objective="30m", margin="1m30s", base_url="http://af:8080")
    for expected in ("*restore* drill for target *shop* is still running past its RTO budget",
                     "objective 30m + margin 1m30s", "deadline 2026-12-07T10:31:30+00:00",
                     "Run: http://af:8080/dags/dr_restore_drill__shop/runs/manual__2026-12-07T10%3A00%3A00%2B00%3A00"):
        assert expected in text, text


def test_the_notifier_posts_from_an_event_loop_as_the_triggerer_runs_it(tmp_path: Path, monkeypatch) -> None:
    port = find_free_port()
    record = tmp_path / "posts.jsonl"
    server = serve(port, record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW_CONN_BUDGET_SLACK", json.dumps(
        {"conn_type": "slackwebhook", "password": f"http://127.0.0.1:{port}/services/budget"}))
    notifier = RtoBudgetNotifier(slack_webhook_conn_id="budget_slack", target="shop", drill="restore",
                                 objective="30m", margin="0s",
                                 context={"dag_run": {"dag_id": "dr_restore_drill__shop", "run_id": "manual__1"},
                                          "deadline": {"deadline_time": "2026-12-07T10:30:00+00:00"}})
    try:
        asyncio.run(_awaited(notifier))
    finally:
        server.shutdown()
    [post] = read_posts(record)
    assert post["path"] == "/services/budget" and "past its RTO budget" in post["body"]["text"]


async def _awaited(notifier: RtoBudgetNotifier) -> None:
    await notifier
