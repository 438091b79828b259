"""Drill histories for the DR report's tests, written with ``record_drill`` as the drills write them: a fleet where
everything is fine, and one with an RTO breach, a stale backup, a lagging archive and an open finding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from drdrill.config import DrillConfig
from drdrill.history import DrillRecord, RpoSample, record_drill, record_rpo_sample
from drdrill.report.numbers import build_report, report_targets
from tests.helpers.targets import load_test_config

END = datetime(2026, 12, 7, tzinfo=timezone.utc)  # the report's period: the 7 days before
FINDING = {"code": "RTO_EXCEEDED", "message": "took 35m", "fix": "restore faster", "evidence": {}}
TARGET_LINES = ('    schedules: {backup: "0 */6 * * *", restore_drill: "@daily"}\n'
                "    restore_drill: {max_backup_age: 1d}\n")


def record(url: str, drill: str, verdict: str, hours_before_end: float, *, minutes: float = 10, target: str = "shop",
           **values: object) -> None:
    """One drill run that started ``hours_before_end`` before :data:`END` and took ``minutes``."""
    start = END - timedelta(hours=hours_before_end)
    record_drill(url, DrillRecord(f"scheduled__{drill}_{hours_before_end}", target, drill, verdict, start.isoformat(),
                                  (start + timedelta(minutes=minutes)).isoformat(), **values))  # type: ignore[arg-type]


def lag_sample(url: str, hours_before_end: float, lag: float, target: str = "shop") -> None:
    """One RPO monitor sample (objective 15m)."""
    record_rpo_sample(url, RpoSample(target, (END - timedelta(hours=hours_before_end)).isoformat(), lag, 600.0, 900.0))


def healthy_history(url: str) -> None:
    """Fresh backups, three green restores well inside the objectives (RTO 300/400/500 s, RPO 30/40/50 s), a small lag."""
    record(url, "restore", "passed", 200, rto_seconds=999.0, rto_objective_seconds=1800.0)  # before the period
    for hours in (150, 75, 3):
        record(url, "backup", "passed", hours, backup_id=f"b{hours}")
    for hours, rto, rpo in ((140, 300.0, 30.0), (70, 400.0, 40.0), (2, 500.0, 50.0)):
        record(url, "restore", "passed", hours, backup_id="b3", rto_seconds=rto, rto_objective_seconds=1800.0,
               rpo_seconds=rpo, rpo_objective_seconds=900.0)
    for hours, lag in ((100, 5.0), (50, 10.0), (1, 2.0)):
        lag_sample(url, hours, lag)


def broken_history(url: str) -> None:
    """The newest valid backup two days old (allowed: 1d), a restore over the RTO objective then repaired 12 h 10 m
    later, a red PITR drill left open, the archive over the RPO objective once."""
    record(url, "backup", "passed", 48, backup_id="b48")
    record(url, "backup", "failed", 20, findings=[{**FINDING, "code": "DUMP_FAILED"}])
    record(url, "restore", "passed", 100, rto_seconds=300.0, rto_objective_seconds=1800.0)
    record(url, "restore", "failed", 60, rto_seconds=2100.0, rto_objective_seconds=1800.0, rpo_seconds=40.0,
           rpo_objective_seconds=900.0, findings=[FINDING])
    record(url, "restore", "passed", 48, rto_seconds=350.0, rto_objective_seconds=1800.0)
    record(url, "pitr", "could_not_verify", 10, findings=[{**FINDING, "code": "COULD_NOT_VERIFY"}])
    lag_sample(url, 30, 1200.0)
    lag_sample(url, 5, 20.0)


def report_config(directory: Path) -> DrillConfig:
    """The one-target config (shop: backups every 6 h, restores daily, newest backup at most 1d old)."""
    return load_test_config(directory, extra=TARGET_LINES)


def report_of(directory: Path, write: Callable[[str], None], days: int = 7) -> dict[str, Any]:
    """The report of :func:`report_config`'s fleet at :data:`END` after ``write(history_url)``."""
    config = report_config(directory)
    write(config.settings.history_url)
    return build_report(config.settings.history_url, report_targets(config, END), END, days)
