"""``drdrill.drills.pitr.tasks``: the PITR DAG's task bodies, on an XCom-only context (no running Airflow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from drdrill.drills.pitr import steps, tasks
from drdrill.findings import DrillFailed
from drdrill.history import list_drills
from tests.helpers.airflow_context import RETURN, context_of, memory_bucket
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit
PLANNED = {"backup_id": "b1", "target_time": "2026-11-21T08:00:00+00:00", "files": ["mysql-bin.000007"],
           "markers": None, "seconds": 0.2}


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DRDRILL_CONFIG", str(write_config(tmp_path)))
    memory_bucket(monkeypatch)
    return f"sqlite:///{tmp_path}/history.sqlite"


def test_the_dags_params_are_the_pitr_form() -> None:
    assert list(tasks.dag_params()) == ["target_time", "keep_scratch", "disaster_at"]


def test_nothing_is_measured_when_the_recovery_was_not_validated(history: str) -> None:
    with pytest.raises(AirflowSkipException, match="not validated"):
        tasks.measure("shop", context_of("measure", {("plan", RETURN): PLANNED}))


def test_a_run_that_stopped_after_the_plan_records_its_details_and_the_missing_step(history: str) -> None:
    store: dict[tuple[str, str], Any] = {("plan", RETURN): PLANNED}
    with pytest.raises(DrillFailed) as failed:
        tasks.record("shop", context_of("record", store))
    assert [finding.evidence["step"] for finding in failed.value.findings] == [steps.STEPS[1]]
    (record,) = list_drills(history, "shop", "pitr")
    assert record.verdict == "could_not_verify" and record.backup_id == "b1"
    assert record.details["target_time"] == PLANNED["target_time"] and record.details["binlogs"] == PLANNED["files"]
    assert record.details["airflow_run"].startswith("http://airflow.example/")
