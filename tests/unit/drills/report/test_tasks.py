"""``drdrill.drills.report.tasks``: the dr_report DAG's task bodies on an XCom-only context (storing and posting
through Airflow: tests/system/test_report_dag.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.drills.report import tasks
from tests.helpers.airflow_context import context_of
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit


def test_the_report_covers_the_forms_days_before_the_runs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDRILL_CONFIG", str(write_config(tmp_path)))
    report = tasks.build(context_of("build", {}, days="3"))
    assert report["period"] | {"label": ""} == {"start": "2026-12-03T10:00:00+00:00", "end": "2026-12-06T10:00:00+00:00",
                                                "days": 3, "label": ""}
    assert [item["target"] for item in report["targets"]] == ["shop"]
    text = tasks.notify(report, {"html": "s3://b/r.html", "json": "s3://b/r.json"}, context_of("notify", {}))
    assert "Report: s3://b/r.html" in text and "Run: http://airflow.example/dags/dr_backup__shop/runs/manual__1" in text
