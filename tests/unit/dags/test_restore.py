"""``drdrill.dags.restore``: the restore DAG of one target (the DAG files' tests are in tests/dags/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.dags.restore import build_restore_dag
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_restore_dag_of_one_target(tmp_path: Path) -> None:
    dag = build_restore_dag(load_test_target(tmp_path))
    assert dag.dag_id == "dr_restore_drill__shop" and "target:shop" in dag.tags
    assert [task.task_id for task in dag.topological_sort()] == ['select_backup', 'recover', 'measure', 'record']
