"""``drdrill.dags``: every DAG of every kind for the configured targets, by DAG id."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.dags import all_dags
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit


def test_all_dags_holds_every_kind_for_every_target_by_dag_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDRILL_CONFIG", str(write_config(tmp_path)))
    dags = all_dags()
    assert set(dags) == {"dr_backup__shop", "dr_binlog_archive__shop", "dr_rpo_monitor__shop",
                         "dr_restore_drill__shop", "dr_pitr_drill__shop", "dr_report"}  # no failover: not allowed
    assert all(dag_id == dag.dag_id for dag_id, dag in dags.items())
