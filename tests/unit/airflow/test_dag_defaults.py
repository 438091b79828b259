"""``drdrill.airflow.dag_defaults``: what every drill DAG shares, and the Slack callbacks from the target's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.airflow.dag_defaults import START_DATE, dag_arguments, failure_callbacks
from drdrill.airflow.notify import DrillSlackNotifier
from drdrill.drill_kinds import KINDS
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_dag_arguments_for_a_restore_drill(tmp_path: Path) -> None:
    target = load_test_target(tmp_path, extra="    owner: dba-team\n")
    arguments = dag_arguments(target, drill="restore", doc="### Restore drill\n")
    assert arguments == {
        "dag_id": "dr_restore_drill__shop",
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["drdrill", "restore", "target:shop", "team-db"],
        "doc_md": "**Target `shop`**: unit-test shop — databases shop, billing, engine `mariadb-dump`, RTO objective "
                  "0:30:00, RPO objective 0:15:00.\n\n### Restore drill\n",
        "default_args": {"owner": "dba-team", "retries": 0},
        "description": "drdrill restore drill for shop",
    }


def test_every_drill_kind_gets_its_own_dag_id(tmp_path: Path) -> None:
    target = load_test_target(tmp_path)
    ids = [dag_arguments(target, drill=kind.name, doc=None)["dag_id"] for kind in KINDS]
    assert ids == [f"dr_{kind.schedule_key}__shop" for kind in KINDS] and len(set(ids)) == len(KINDS)


def test_an_unknown_drill_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        dag_arguments(load_test_target(tmp_path), drill="restores", doc=None)


def test_no_description_and_no_doc_still_make_a_header(tmp_path: Path) -> None:
    target = load_test_target(tmp_path, description="")
    doc = dag_arguments(target, drill="backup", doc=None)["doc_md"]
    assert doc.startswith("**Target `shop`**: no description — ") and doc.endswith("RPO objective 0:15:00.\n\n")


def test_without_a_slack_connection_there_are_no_callbacks(tmp_path: Path) -> None:
    assert failure_callbacks(load_test_target(tmp_path), "backup") == {}


def test_failures_alert_the_targets_slack_and_successes_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "quiet").mkdir()
    quiet = failure_callbacks(load_test_target(tmp_path / "quiet", extra="    notify: {slack_conn_id: dba_slack}\n"),
                              "pitr")
    assert set(quiet) == {"on_failure_callback"}
    alert = quiet["on_failure_callback"]
    assert isinstance(alert, DrillSlackNotifier)
    assert (alert.slack_webhook_conn_id, alert.target, alert.drill, alert.success) == ("dba_slack", "shop", "pitr", False)

    (tmp_path / "chatty").mkdir()
    chatty = failure_callbacks(load_test_target(
        tmp_path / "chatty", extra="    notify: {slack_conn_id: dba_slack, on_success: true}\n"), "pitr")
    assert set(chatty) == {"on_failure_callback", "on_success_callback"}
    assert chatty["on_success_callback"].success is True


def test_every_task_and_run_of_a_drill_dag_is_bounded(tmp_path: Path) -> None:
    from datetime import timedelta

    from airflow.sdk import DAG, task

    from drdrill.airflow.dag_defaults import bounded

    target = load_test_target(tmp_path)  # rto: 30m
    with DAG("dr_restore_drill__shop", schedule=None, start_date=START_DATE) as dag:
        @task(task_id="select_backup")
        def select() -> None: ...

        @task(task_id="recover", retries=2)
        def recover() -> None: ...

        select() >> recover()
    bounded(dag, target, "restore")
    assert {t.task_id: t.execution_timeout for t in dag.tasks} == {"select_backup": timedelta(minutes=10),
                                                                   "recover": timedelta(minutes=45)}
    assert dag.dagrun_timeout == timedelta(minutes=10) + timedelta(minutes=10) + 3 * timedelta(minutes=45)
