"""``drdrill.drills.backup.tasks``: the backup DAG's task bodies, on an XCom-only context (no running Airflow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from drdrill.drills.backup import steps, tasks
from drdrill.findings import DrillFailed
from drdrill.history import list_drills
from tests.helpers.airflow_context import RETURN, context_of, memory_bucket
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DRDRILL_CONFIG", str(write_config(tmp_path)))
    memory_bucket(monkeypatch)
    return f"sqlite:///{tmp_path}/history.sqlite"


def test_a_dry_run_skips_the_dump_and_records_a_pass_of_the_preflight_alone(history: str) -> None:
    store: dict[tuple[str, str], Any] = {("preflight", RETURN): {"backup_id": "b1", "dry_run": True, "seconds": 0.1}}
    with pytest.raises(AirflowSkipException, match="Dry run"):
        tasks.dump_and_upload("shop", {"dry_run": True}, context_of("dump_and_upload", store))
    record = tasks.record("shop", context_of("record", store))
    assert record["verdict"] == "passed" and record["details"]["dry_run"] is True
    assert [drill.verdict for drill in list_drills(history, "shop", "backup")] == ["passed"]


def test_a_run_whose_steps_stopped_without_a_finding_is_could_not_verify(history: str) -> None:
    store: dict[tuple[str, str], Any] = {("preflight", RETURN): {"backup_id": "b2", "seconds": 0.1}}
    with pytest.raises(DrillFailed) as failed:
        tasks.record("shop", context_of("record", store))
    assert [finding.code for finding in failed.value.findings] == ["COULD_NOT_VERIFY"]
    assert failed.value.findings[0].evidence["step"] == steps.STEPS[1]
    assert [drill.verdict for drill in list_drills(history, "shop", "backup")] == ["could_not_verify"]
