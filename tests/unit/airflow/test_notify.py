"""The Slack texts a DBA reads: failure with findings and objectives, success with the numbers; no secrets."""

from __future__ import annotations

import pytest

from drdrill.airflow.notify import alert_text, success_text
from drdrill.findings import DrillFailed, Finding

pytestmark = pytest.mark.unit


class FakeTaskInstance:
    task_id = "record"
    log_url = "http://airflow.example/dags/dr_restore_drill__shop/runs/manual__1/tasks/record?try_number=1"

    def __init__(self, record: dict | None = None) -> None:
        self.record = record

    def xcom_pull(self, task_ids: str) -> dict | None:
        return self.record


def test_failure_text_names_verdict_steps_findings_objectives_and_link_and_scrubs_secrets() -> None:
    failed = DrillFailed([Finding("RTO_EXCEEDED", "Recovery took 2m; the objective is 1m (login s3cr3t-pw).")],
                         failed_steps=["measure"], measurements={"RTO": "2m (objective 1m)", "RPO": "5s (objective 15m)"})
    text = alert_text({"exception": failed, "ti": FakeTaskInstance()}, "shop", "restore", secrets=("s3cr3t-pw",))
    for expected in ("*restore* drill for target *shop*: FAILED", "Failing task(s): measure", "`RTO_EXCEEDED`",
                     "_Fix:_", "RTO: 2m (objective 1m)", "RPO: 5s (objective 15m)",
                     "Run: http://airflow.example/dags/dr_restore_drill__shop/runs/manual__1"):
        assert expected in text, text
    assert "s3cr3t-pw" not in text


def test_unexpected_errors_still_name_the_task_and_cause() -> None:
    text = alert_text({"exception": RuntimeError("history database is down"), "ti": FakeTaskInstance()}, "shop", "backup")
    assert "task *record* failed" in text and "history database is down" in text


def test_success_summary_carries_backup_rto_and_rpo() -> None:
    record = {"backup_id": "20261121T083012Z-a1b2c3", "rto_seconds": 17.8, "rto_objective_seconds": 1800.0,
              "rpo_seconds": 6.3, "rpo_objective_seconds": 900.0,
              "details": {"evidence_uri": "s3://b/shop/full/x/drills/k/restore-evidence.html"}}
    text = success_text({"ti": FakeTaskInstance(record)}, "shop", "restore")
    assert "passed (backup 20261121T083012Z-a1b2c3)" in text
    assert "RTO: 17.8 s (objective 1800 s)" in text and "RPO: 6.3 s (objective 900 s)" in text
    assert "Evidence: s3://b/shop/full/x/drills/k/restore-evidence.html" in text
