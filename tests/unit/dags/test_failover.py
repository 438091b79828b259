"""``drdrill.dags.failover``: the failover DAG of one target (the DAG files' tests are in tests/dags/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.dags.failover import build_failover_dag
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_failover_dag_of_one_target(tmp_path: Path) -> None:
    dag = build_failover_dag(load_test_target(tmp_path))
    assert dag.dag_id == "dr_failover_drill__shop" and "target:shop" in dag.tags
    assert [task.task_id for task in dag.topological_sort()] == ['preflight', 'fail_over', 'cleanup', 'verify_consistency', 'record']
