"""``drdrill.dags.binlog_archive``: the binlog_archive DAG of one target (the DAG files' tests are in tests/dags/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.dags.binlog_archive import build_archive_dag
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_binlog_archive_dag_of_one_target(tmp_path: Path) -> None:
    dag = build_archive_dag(load_test_target(tmp_path))
    assert dag.dag_id == "dr_binlog_archive__shop" and "target:shop" in dag.tags
    assert [task.task_id for task in dag.topological_sort()] == ['archive', 'check_chain', 'record']
