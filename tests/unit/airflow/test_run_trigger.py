"""``drdrill.airflow.run_trigger``: what started a run, as its evidence bundle says it."""

from __future__ import annotations

from enum import Enum
from types import SimpleNamespace

import pytest

from drdrill.airflow.run_trigger import run_trigger

pytestmark = pytest.mark.unit


class RunType(str, Enum):
    ASSET_TRIGGERED = "asset_triggered"


def test_a_manual_run_names_its_user_and_an_asset_run_its_event() -> None:
    manual = SimpleNamespace(run_type="manual", dag_id="dr_restore_drill__shop", triggering_user_name="alice",
                             conf={"backup": "newest"}, consumed_asset_events=[])
    assert run_trigger({"dag_run": manual}) == {"type": "manual", "via": "airflow", "dag_id": "dr_restore_drill__shop",
                                                "user": "alice", "conf": {"backup": "newest"}, "asset_events": []}
    event = SimpleNamespace(asset=SimpleNamespace(uri="drdrill://shop/backup"), extra={"backup_id": "b1"},
                            source_dag_id="dr_backup__shop", source_run_id="scheduled__1", timestamp="2026-11-21")
    by_asset = run_trigger({"dag_run": SimpleNamespace(run_type=RunType.ASSET_TRIGGERED, dag_id="d", conf=None,
                                                       consumed_asset_events=[event])})
    assert by_asset["type"] == "asset_triggered" and by_asset["user"] is None
    assert by_asset["asset_events"] == [{"asset": "drdrill://shop/backup", "extra": {"backup_id": "b1"},
                                         "source": "dr_backup__shop/scheduled__1", "at": "2026-11-21"}]
    assert run_trigger({})["type"] == "unknown"
