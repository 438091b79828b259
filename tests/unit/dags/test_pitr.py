"""``drdrill.dags.pitr``: the pitr DAG of one target (the DAG files' tests are in tests/dags/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.dags.pitr import build_pitr_dag
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_pitr_dag_of_one_target(tmp_path: Path) -> None:
    dag = build_pitr_dag(load_test_target(tmp_path))
    assert dag.dag_id == "dr_pitr_drill__shop" and "target:shop" in dag.tags
    assert [task.task_id for task in dag.topological_sort()] == ['plan', 'recover', 'measure', 'record']
