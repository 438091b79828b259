"""The scorecard's reading of the history: last verdicts, open findings, backups, pass rate, MTTR, pagination."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.history import DrillRecord, RpoSample, record_drill, record_rpo_sample
from drdrill.scorecard.queries import TargetInfo, fleet, history_page, mttr, target_summary

pytestmark = pytest.mark.unit
T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
FIX = {"code": "RTO_EXCEEDED", "message": "slow", "fix": "make it faster", "evidence": {}}


def _record(url: str, drill: str, verdict: str, hour: int, *, target: str = "shop", minutes: int = 10,
            run_id: str | None = None, **values: object) -> None:
    start = T0 + timedelta(hours=hour)
    record_drill(url, DrillRecord(run_id or f"manual__{drill}_{hour}", target, drill, verdict, start.isoformat(),
                                  (start + timedelta(minutes=minutes)).isoformat(), **values))  # type: ignore[arg-type]


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/history.sqlite"
    _record(url, "backup", "passed", 0, backup_id="b1")
    _record(url, "restore", "failed", 1, backup_id="b1", rto_seconds=900.0, rto_objective_seconds=600.0,
            findings=[FIX])
    _record(url, "restore", "could_not_verify", 2, backup_id="b1")
    _record(url, "restore", "passed", 3, backup_id="b1", rto_seconds=300.0, rto_objective_seconds=600.0,
            stage_seconds={"download": 10.0, "restore": 200.0},
            details={"pitr_window_start": T0.isoformat(), "pitr_window_end": (T0 + timedelta(hours=3)).isoformat()})
    _record(url, "backup", "passed", 4, backup_id="b2")
    _record(url, "pitr", "could_not_verify", 5, findings=[{**FIX, "code": "COULD_NOT_VERIFY"}],
            run_id="cli__20261201T050000Z__abc123")
    record_rpo_sample(url, RpoSample("shop", (T0 + timedelta(hours=5)).isoformat(), 4.5, 60.0, 900.0))
    _record(url, "backup", "failed", 1, target="legacy")
    return url


def test_fleet_shows_each_kinds_last_run_open_findings_backups_and_archive_lag(url: str) -> None:
    shop, legacy = fleet(url, [TargetInfo("shop", "dba", ("prod",), 600.0, 900.0)], now=T0 + timedelta(hours=6))
    assert (shop["target"], shop["owner"], shop["tags"], shop["configured"]) == ("shop", "dba", ["prod"], True)
    assert {kind: cell["verdict"] for kind, cell in shop["drills"].items()} == {
        "backup": "passed", "restore": "passed", "pitr": "could_not_verify"}
    assert list(shop["drills"]) == ["backup", "restore", "pitr"]  # the kinds' declared order
    assert shop["drills"]["restore"]["airflow_run"] == "dags/dr_restore_drill__shop/runs/manual__restore_3"
    assert shop["drills"]["pitr"]["airflow_run"] is None  # a command-line run
    assert [(f["code"], f["drill"]) for f in shop["open_findings"]] == [("COULD_NOT_VERIFY", "pitr")]  # the restore's red
    # was repaired by its green run
    assert shop["newest_valid_backup"]["backup_id"] == "b2"
    assert shop["newest_valid_backup"]["age_seconds"] == pytest.approx(110 * 60)
    assert shop["newest_proven_backup"]["backup_id"] == "b1"
    assert shop["archive_lag_seconds"] == 4.5
    assert shop["pitr_window"] == {"start": T0.isoformat(), "end": (T0 + timedelta(hours=3)).isoformat(),
                                   "as_of": (T0 + timedelta(hours=3, minutes=10)).isoformat()}
    assert (legacy["target"], legacy["configured"], legacy["newest_valid_backup"], legacy["pitr_window"]) == (
        "legacy", False, None, None)
    assert legacy["open_findings"] == [] and legacy["drills"]["backup"]["verdict"] == "failed"


def test_target_summary_pass_rate_mttr_and_chart_series(url: str) -> None:
    summary = target_summary(url, "shop")
    assert summary["runs"] == 6 and summary["pass_rate"] == pytest.approx(3 / 6)
    restore = summary["kinds"]["restore"]
    assert (restore["runs"], restore["passed"], restore["repairs"]) == (3, 1, 1)
    assert restore["mttr_seconds"] == 2 * 3600 + 600  # first red start (01:00) to the green finish (03:10)
    assert summary["kinds"]["pitr"]["red_since"] == (T0 + timedelta(hours=5)).isoformat()
    assert summary["mttr_seconds"] == restore["mttr_seconds"]
    assert [(p["verdict"], p["rto_seconds"]) for p in summary["series"]] == [("failed", 900.0), ("passed", 300.0)]
    assert summary["series"][-1]["stage_seconds"] == {"download": 10.0, "restore": 200.0}
    assert target_summary(url, "nobody")["runs"] == 0


def test_mttr_counts_only_repaired_streaks() -> None:
    def run(verdict: str, start: int, end: int) -> dict[str, str]:
        return {"verdict": verdict, "started_at": (T0 + timedelta(seconds=start)).isoformat(),
                "finished_at": (T0 + timedelta(seconds=end)).isoformat()}

    assert mttr([run("passed", 0, 1), run("passed", 2, 3)]) == {"mttr_seconds": None, "repairs": 0, "red_since": None}
    streaks = mttr([run("failed", 0, 5), run("passed", 10, 20), run("could_not_verify", 30, 35),
                    run("failed", 40, 45), run("passed", 50, 70), run("failed", 80, 90)])
    assert streaks == {"mttr_seconds": (20 + 40) / 2, "repairs": 2, "red_since": (T0 + timedelta(seconds=80)).isoformat()}


def test_history_pages_newest_first_with_the_total(url: str) -> None:
    first = history_page(url, "shop", offset=0, limit=4)
    second = history_page(url, "shop", offset=4, limit=4)
    assert (first.total, len(first.runs), len(second.runs)) == (6, 4, 2)
    assert [run["drill"] for run in first.runs + second.runs] == ["pitr", "backup", "restore", "restore", "restore", "backup"]
    assert first.runs[2]["stage_seconds"] == {"download": 10.0, "restore": 200.0}
    assert history_page(url, "shop", drill="backup").total == 2


def test_target_summary_of_a_period_counts_only_the_runs_started_in_it(url: str) -> None:
    summary = target_summary(url, "shop", since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=4))
    assert summary["runs"] == 3 and list(summary["kinds"]) == ["restore"]  # the backups at 0 h and 4 h are out
    assert summary["kinds"]["restore"]["repairs"] == 1 and len(summary["series"]) == 2


def test_target_info_of_a_configured_target(tmp_path: Path) -> None:
    from tests.helpers.targets import load_test_target

    assert TargetInfo.of(load_test_target(tmp_path)) == TargetInfo("shop", "drdrill", ("team-db",), 1800.0, 900.0,
                                                                   "unit-test shop")
