"""``drdrill.dags.report``: the installation's one dr_report DAG (its run through Airflow: tests/system/test_report_dag.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.dags.report import build_report_dag
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit


def test_one_report_dag_builds_stores_and_notifies_weekly_unless_the_settings_say_otherwise(tmp_path: Path) -> None:
    dag = build_report_dag(load_config(write_config(tmp_path)))
    assert dag.dag_id == "dr_report" and {"drdrill", "report"} <= set(dag.tags) and dag.owner == "drdrill"
    assert [task.task_id for task in dag.topological_sort()] == ["build", "store", "notify"]
    assert dag.get_task("notify").upstream_task_ids == {"build", "store"}
    assert dag.params["days"] == 7 and dag.params.get_param("days").schema["minimum"] == 1
    assert dag.schedule == "@weekly" and dag.max_active_runs == 1 and dag.catchup is False
    assert dag.dagrun_timeout and all(task.execution_timeout for task in dag.tasks)
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("settings:\n", "settings:\n  report_schedule: \"0 6 * * 1\"\n", 1))
    assert build_report_dag(load_config(path)).schedule == "0 6 * * 1"
