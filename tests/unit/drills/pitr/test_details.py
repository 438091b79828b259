"""What a PITR drill run records, built once from its steps' results for Airflow and the CLI."""

from __future__ import annotations

import pytest

from drdrill.drills.pitr.details import pitr_details

pytestmark = pytest.mark.unit


def test_a_run_records_the_target_second_the_binlogs_the_markers_and_the_evidence() -> None:
    results = {
        "plan": {"backup_id": "b1", "target_time": "2026-11-21T08:00:00+00:00",
                 "files": ["mysql-bin.000007", "mysql-bin.000008"], "markers": ["before-k", "after-k"]},
        "validate": {"results_uri": "s3://b/validation.json"},
        "measure": {"replay_mb_per_second": 13.1},
    }
    assert pitr_details(results) == {
        "target_time": "2026-11-21T08:00:00+00:00", "binlogs": ["mysql-bin.000007", "mysql-bin.000008"],
        "markers": ["before-k", "after-k"], "replay_mb_per_second": 13.1, "results_uri": "s3://b/validation.json",
    }


def test_a_run_that_never_planned_records_empty_details_not_invented_ones() -> None:
    assert pitr_details({"plan": None, "measure": None}) == dict.fromkeys(
        ["target_time", "binlogs", "markers", "replay_mb_per_second", "results_uri"])
