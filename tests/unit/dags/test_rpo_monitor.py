"""``drdrill.dags.rpo_monitor``: the rpo_monitor DAG of one target (the DAG files' tests are in tests/dags/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.dags.rpo_monitor import build_monitor_dag
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_rpo_monitor_dag_of_one_target(tmp_path: Path) -> None:
    dag = build_monitor_dag(load_test_target(tmp_path))
    assert dag.dag_id == "dr_rpo_monitor__shop" and "target:shop" in dag.tags
    assert [task.task_id for task in dag.topological_sort()] == ['sample', 'judge']
