"""``drdrill.drills.archive.tasks``: the archive and RPO-monitor DAGs' task bodies on an XCom-only context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drdrill.drills.archive import tasks
from drdrill.findings import DrillFailed, Finding
from drdrill.history import list_drills
from tests.helpers.airflow_context import RETURN, context_of
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit

SAMPLE = {"archive_lag_seconds": 2.0, "rpo_objective_seconds": 900.0, "backup_age_seconds": 3600.0, "findings": []}


def test_a_sample_within_the_objectives_passes_through() -> None:
    assert tasks.judge_rpo("shop", SAMPLE, context_of("judge_rpo", {})) == SAMPLE


def test_a_lagging_archive_fails_with_its_measurements() -> None:
    lagging = {**SAMPLE, "archive_lag_seconds": None,
               "findings": [Finding("ARCHIVE_LAGGING", "nothing is archived yet").to_dict()]}
    with pytest.raises(DrillFailed) as failed:
        tasks.judge_rpo("shop", lagging, context_of("judge_rpo", {}))
    assert [finding.code for finding in failed.value.findings] == ["ARCHIVE_LAGGING"]
    assert failed.value.measurements == {"archive lag": "not measured (objective 900 s)", "newest backup age": "3600 s"}


def test_the_archive_record_keeps_what_was_shipped_and_the_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDRILL_CONFIG", str(write_config(tmp_path)))
    store: dict[tuple[str, str], Any] = {
        ("archive", RETURN): {"uploaded": ["mysql-bin.000003"], "bytes": 512, "newest_event_at": "2026-12-06T10:00:00",
                              "seconds": 0.4},
        ("check_chain", RETURN): {"files": 3, "servers": ["1-aaaaaaaa"], "seconds": 0.1},
    }
    record = tasks.record_archive("shop", context_of("record", store))
    assert record["verdict"] == "passed"
    assert record["details"]["uploaded"] == ["mysql-bin.000003"] and record["details"]["chain"]["files"] == 3
    history = f"sqlite:///{tmp_path}/history.sqlite"
    assert [drill.verdict for drill in list_drills(history, "shop", "binlog_archive")] == ["passed"]
