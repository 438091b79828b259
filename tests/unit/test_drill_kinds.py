"""The drill kinds catalog: DAG ids and schedule keys users and checks rely on."""

from __future__ import annotations

import pytest

from drdrill import drill_kinds


@pytest.mark.unit
def test_dag_ids_are_the_fixed_names() -> None:
    assert [kind.dag_id("shop") for kind in drill_kinds.KINDS] == [
        "dr_backup__shop", "dr_restore_drill__shop", "dr_pitr_drill__shop", "dr_failover_drill__shop",
        "dr_binlog_archive__shop", "dr_rpo_monitor__shop",
    ]


@pytest.mark.unit
def test_names_and_schedule_keys_are_unique() -> None:
    assert len(set(drill_kinds.drill_names())) == len(drill_kinds.KINDS)
    assert len(set(drill_kinds.schedule_keys())) == len(drill_kinds.KINDS)
    assert drill_kinds.BY_NAME["restore"].schedule_key == "restore_drill"
