"""What a restore drill run records and posts, built once from its steps' results for Airflow and the CLI."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from drdrill.drills.restore.details import MEASUREMENTS, measurements, restore_details, restored_backup, slack_lines

pytestmark = pytest.mark.unit
DISASTER = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
WINDOW = {"pitr_window_start": "2026-11-20T09:00:00+00:00", "pitr_window_end": "2026-11-21T08:59:59+00:00"}
RESULTS = {
    "select_backup": {"backup_id": "20261121T083012Z-a1b2c3", "engine": "mariadb-dump", "age_seconds": 1800.0,
                      "choice": "newest"},
    "validate": {"results_uri": "s3://b/validation.json", "data_docs_uri": "s3://b/data-docs/index.html",
                 "evaluated": 42},
    "measure": {"rto_seconds": 95.0, "rto_objective_seconds": 1800.0, "rpo_seconds": 40.0,
                "rpo_objective_seconds": 900.0, "fetch_mb_per_second": 80.0, "restore_mb_per_second": 12.5,
                "disaster_at": "2026-11-21T08:00:00+00:00", "newest_heartbeat": "2026-11-21T08:59:20+00:00"},
}


def test_a_measured_run_records_the_backup_the_evidence_the_throughputs_and_the_window() -> None:
    assert restore_details(RESULTS, disaster_at=DISASTER, pitr_window=WINDOW) == {
        "engine": "mariadb-dump", "backup_age_seconds": 1800.0, "choice": "newest",
        "results_uri": "s3://b/validation.json", "data_docs_uri": "s3://b/data-docs/index.html", "expectations": 42,
        "fetch_mb_per_second": 80.0, "restore_mb_per_second": 12.5, "disaster_at": DISASTER.isoformat(),
        "newest_heartbeat": "2026-11-21T08:59:20+00:00", **WINDOW,
    }
    assert measurements(RESULTS) == {"rto_seconds": 95.0, "rto_objective_seconds": 1800.0, "rpo_seconds": 40.0,
                                     "rpo_objective_seconds": 900.0}


def test_a_run_that_failed_early_still_records_its_declared_disaster_and_nothing_invented() -> None:
    details = restore_details({"select_backup": None}, disaster_at=DISASTER, pitr_window=WINDOW)
    assert details["disaster_at"] == DISASTER.isoformat()
    assert all(details[name] is None for name in details if name not in ("disaster_at", *WINDOW))
    assert measurements({}) == dict.fromkeys(MEASUREMENTS)
    assert slack_lines({"measure": None}) is None


def test_without_a_readable_form_the_disaster_is_the_one_measured() -> None:
    assert restore_details(RESULTS, disaster_at=None, pitr_window=WINDOW)["disaster_at"] == "2026-11-21T08:00:00+00:00"


def test_slack_gets_rto_and_rpo_against_their_objectives() -> None:
    assert slack_lines(RESULTS) == {"RTO": "1m35s (objective 30m)", "RPO": "40s (objective 15m)"}


def test_the_backup_restored_is_the_one_fetched_else_the_one_chosen() -> None:
    fallback = {**RESULTS, "fetch_and_verify": {"backup_id": "20261120T083012Z-000000", "seconds": 1.0}}
    assert restored_backup(fallback) == "20261120T083012Z-000000"
    assert restored_backup({**RESULTS, "fetch_and_verify": None}) == "20261121T083012Z-a1b2c3"
    assert restored_backup({}) is None


def test_after_a_fallback_the_record_describes_the_backup_restored() -> None:
    fallback = {**RESULTS, "fetch_and_verify": {"backup_id": "20261120T083012Z-000000", "engine": "mariabackup",
                                                "age_seconds": 88200.0, "seconds": 1.0}}
    details = restore_details(fallback, disaster_at=DISASTER, pitr_window=WINDOW)
    assert (details["engine"], details["backup_age_seconds"], details["choice"]) == ("mariabackup", 88200.0, "newest")
