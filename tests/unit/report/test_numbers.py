"""The DR report's numbers on histories written with ``record_drill``: a healthy fleet shows no breach and no stale
backup; a broken one shows its RTO breach, stale backup, archive lag over the RPO, open findings and MTTR."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.report.numbers import longest_without_green, percentile, report_targets, schedule_interval
from tests.helpers.report_history import END, broken_history, healthy_history, record, report_config, report_of
from tests.helpers.targets import load_test_config

pytestmark = pytest.mark.unit
HOUR = 3600.0


def test_a_healthy_fleet_shows_no_breach_and_no_stale_backup(tmp_path: Path) -> None:
    report = report_of(tmp_path, healthy_history)
    (shop,) = report["targets"]
    assert report["period"] == {"start": "2026-11-30T00:00:00+00:00", "end": "2026-12-07T00:00:00+00:00", "days": 7,
                                "label": "20261130T0000Z-20261207T0000Z"}
    assert (shop["drills_run"], shop["passed"], shop["pass_rate"]) == (6, 6, 1.0)  # the run before the period is out
    assert shop["rto"] == {"samples": 3, "p50": 400.0, "p95": pytest.approx(490.0), "max": 500.0,
                           "objective_seconds": 1800.0}
    assert (shop["rpo"]["p50"], shop["rpo"]["p95"], shop["rpo"]["objective_seconds"]) == (40.0, pytest.approx(49.0), 900.0)
    assert shop["breaches"] == [] and shop["open_findings"] == [] and shop["mttr_seconds"] is None
    assert shop["backup"]["stale"] is False and shop["backup"]["allowed_age_seconds"] == 24 * HOUR
    assert shop["backup"]["newest_valid"]["age_seconds"] == pytest.approx(3 * HOUR - 600)
    assert shop["archive_lag"] | {"latest_at": None} == {
        "samples": 3, "p50": 5.0, "p95": pytest.approx(9.5), "max": 10.0, "objective_seconds": 900.0,
        "over_objective": 0, "latest_seconds": 2.0, "latest_at": None}
    assert shop["kinds"]["restore"]["longest_without_green_seconds"] == pytest.approx(70 * HOUR)
    assert report["fleet"] | {"longest_without_green": None} == {
        "targets": 1, "drills_run": 6, "passed": 6, "pass_rate": 1.0, "breaches": 0, "stale_backups": 0,
        "open_findings": 0, "archive_lag_over_objective": 0, "mttr_seconds": None, "longest_without_green": None}


def test_a_broken_fleet_shows_its_breach_stale_backup_lag_findings_and_mttr(tmp_path: Path) -> None:
    report = report_of(tmp_path, broken_history)
    (shop,) = report["targets"]
    (breach,) = shop["breaches"]
    assert (breach["measure"], breach["drill"], breach["seconds"], breach["objective_seconds"]) == (
        "RTO", "restore", 2100.0, 1800.0)
    assert shop["rto"]["p95"] > shop["rto"]["objective_seconds"]
    assert shop["backup"]["stale"] is True and shop["backup"]["stale_reason"] == "older than allowed"
    assert shop["archive_lag"]["over_objective"] == 1 and shop["archive_lag"]["max"] == 1200.0
    assert sorted(finding["code"] for finding in shop["open_findings"]) == ["COULD_NOT_VERIFY", "DUMP_FAILED"]
    restore = shop["kinds"]["restore"]
    assert (restore["runs"], restore["pass_rate"], restore["mttr_seconds"]) == (3, pytest.approx(2 / 3), 12 * HOUR + 600)
    assert restore["longest_without_green_seconds"] == pytest.approx(68 * HOUR + 600)
    assert shop["kinds"]["pitr"]["longest_without_green_seconds"] == 7 * 24 * HOUR
    fleet = report["fleet"]
    assert (fleet["breaches"], fleet["stale_backups"], fleet["open_findings"], fleet["archive_lag_over_objective"]) == (
        1, 1, 2, 1)
    assert fleet["longest_without_green"] == {"seconds": 7 * 24 * HOUR, "target": "shop", "drill": "pitr"}
    assert (fleet["drills_run"], fleet["passed"]) == (6, 3)


def test_no_valid_backup_is_stale_and_a_scheduled_kind_that_never_ran_went_the_whole_period_without_green(
        tmp_path: Path) -> None:
    def history(url: str) -> None:
        record(url, "backup", "failed", 5, target="legacy")  # a target only the history knows

    report = report_of(tmp_path, history)
    shop, legacy = report["targets"]
    assert shop["backup"] | {"allowed_age_seconds": None} == {
        "newest_valid": None, "allowed_age_seconds": None, "stale": True, "stale_reason": "no valid backup"}
    assert shop["kinds"]["restore"] == {"runs": 0, "passed": 0, "pass_rate": None, "mttr_seconds": None, "repairs": 0,
                                        "red_since": None, "longest_without_green_seconds": 7 * 24 * HOUR}
    assert legacy["configured"] is False and legacy["kinds"]["backup"]["red_since"]


def test_a_backup_may_be_max_backup_age_old_else_one_and_a_half_backup_intervals(tmp_path: Path) -> None:
    (with_limit,) = report_targets(report_config(tmp_path), END)
    assert with_limit.allowed_backup_age_seconds == 24 * HOUR and with_limit.scheduled_kinds == ("backup", "restore")
    (by_schedule,) = report_targets(load_test_config(tmp_path, extra='    schedules: {backup: "0 */6 * * *"}\n'), END)
    assert by_schedule.allowed_backup_age_seconds == 9 * HOUR and by_schedule.scheduled_kinds == ("backup",)
    (unscheduled,) = report_targets(load_test_config(tmp_path), END)
    assert unscheduled.allowed_backup_age_seconds is None and unscheduled.scheduled_kinds == ()


def test_a_schedules_interval_is_its_longest_gap() -> None:
    assert schedule_interval("@daily", END) == timedelta(days=1)
    assert schedule_interval("0 2 * * 1-5", END) == timedelta(days=3)  # over the weekend
    assert schedule_interval("@once", END) is None and schedule_interval(None, END) is None


def test_percentiles_interpolate_between_ranks() -> None:
    assert (percentile([50, 10, 40, 20, 30], 0.5), percentile([10, 20, 30, 40, 50], 0.95)) == (30, pytest.approx(48))
    assert percentile([7.0], 0.95) == 7.0 and percentile([], 0.5) is None


def test_the_longest_stretch_without_green_counts_the_periods_edges() -> None:
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=7)
    assert longest_without_green([start + timedelta(days=1), start + timedelta(days=3)], start, end) == 4 * 24 * HOUR
    assert longest_without_green([], start, end) == 7 * 24 * HOUR
