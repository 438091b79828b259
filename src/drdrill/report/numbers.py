"""The DR report's numbers for a period, per target and for the fleet, read from the drill history.

Pass rate and MTTR come from the scorecard's queries (:func:`~drdrill.scorecard.queries.target_summary` over the
period); the newest valid backup and the open findings from its fleet view; the rest (RTO/RPO percentiles and
breaches, archive lag, the longest time without a green drill) is read here. A period is ``[start, end)`` by the
runs' start times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from croniter import croniter

from drdrill.config import DrillConfig, Target
from drdrill.drill_kinds import BACKUP, KINDS, RESTORE
from drdrill.findings import PASSED
from drdrill.history import DRILL_RUNS, RPO_SAMPLES, history_engine
from drdrill.scorecard.queries import (CHART_POINTS, TargetInfo, fleet, in_period, mean_mttr, run_link,
                                      target_summary)

STALE_AFTER_INTERVALS = 1.5  # without max_backup_age: stale once a scheduled backup was missed
SCHEDULE_LOOKBACK = 30  # fire times read to find a schedule's longest interval (a weekday cron's weekend)
MEASURES = ("rto", "rpo")


@dataclass(frozen=True)
class ReportTarget:
    """A target as the report judges it: the scorecard's view, how old its newest backup may be, what is scheduled."""

    info: TargetInfo
    allowed_backup_age_seconds: float | None = None
    scheduled_kinds: tuple[str, ...] = ()


def schedule_interval(schedule: str | None, at: datetime) -> timedelta | None:
    """The longest gap between two consecutive runs of ``schedule`` before ``at`` (None: no schedule, @once)."""
    if schedule is None or schedule == "@once":
        return None
    runs = croniter(schedule, at)
    times = [runs.get_prev(datetime) for _ in range(SCHEDULE_LOOKBACK)]
    return max(newer - older for newer, older in zip(times, times[1:]))


def report_target(target: Target, at: datetime) -> ReportTarget:
    """``target`` judged at ``at``: its newest backup may be ``restore_drill.max_backup_age`` old, else 1.5 backup
    intervals of its schedule (no limit without either); the kinds on a schedule (or run after each backup)."""
    allowed = target.restore_drill.max_backup_age
    interval = schedule_interval(getattr(target.schedules, BACKUP.schedule_key), at)  # keys made from KINDS
    if allowed is None and interval is not None:
        allowed = interval * STALE_AFTER_INTERVALS
    scheduled = tuple(kind.name for kind in KINDS if getattr(target.schedules, kind.schedule_key)
                      or (kind is RESTORE and target.restore_drill.after_backup))
    return ReportTarget(TargetInfo.of(target), allowed.total_seconds() if allowed else None, scheduled)


def report_targets(config: DrillConfig, at: datetime) -> list[ReportTarget]:
    """Every configured target, judged at ``at``."""
    return [report_target(target, at) for target in config.targets]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` quantile, interpolated between the closest ranks (numpy's default); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _spread(values: Sequence[float], objective: float | None) -> dict[str, Any]:
    return {"samples": len(values), "p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
            "max": max(values, default=None), "objective_seconds": objective}


def _measured_runs(connection: sa.Connection, start: datetime, end: datetime) -> dict[str, list[Any]]:
    """Per target, oldest first, the runs of the period that measured an RTO or an RPO."""
    rows = connection.execute(
        sa.select(DRILL_RUNS.c.run_id, DRILL_RUNS.c.target, DRILL_RUNS.c.drill, DRILL_RUNS.c.verdict,
                  DRILL_RUNS.c.started_at, DRILL_RUNS.c.rto_seconds, DRILL_RUNS.c.rto_objective_seconds,
                  DRILL_RUNS.c.rpo_seconds, DRILL_RUNS.c.rpo_objective_seconds)
        .where(*in_period(DRILL_RUNS.c.started_at, start, end),
               sa.or_(DRILL_RUNS.c.rto_seconds.is_not(None), DRILL_RUNS.c.rpo_seconds.is_not(None)))
        .order_by(DRILL_RUNS.c.started_at, DRILL_RUNS.c.id)).mappings()
    found: dict[str, list[Any]] = {}
    for row in rows:
        found.setdefault(row["target"], []).append(row)
    return found


def _green_times(connection: sa.Connection, start: datetime, end: datetime) -> dict[tuple[str, str], list[datetime]]:
    """Per (target, drill kind), oldest first, when each passed run of the period finished."""
    rows = connection.execute(
        sa.select(DRILL_RUNS.c.target, DRILL_RUNS.c.drill, DRILL_RUNS.c.finished_at)
        .where(DRILL_RUNS.c.verdict == PASSED, *in_period(DRILL_RUNS.c.started_at, start, end))
        .order_by(DRILL_RUNS.c.finished_at))
    found: dict[tuple[str, str], list[datetime]] = {}
    for row in rows.mappings():
        found.setdefault((row["target"], row["drill"]), []).append(datetime.fromisoformat(row["finished_at"]))
    return found


def _lag_samples(connection: sa.Connection, start: datetime, end: datetime) -> dict[str, list[Any]]:
    """Per target, the archive-lag samples of the period (``drdrill rpo``)."""
    rows = connection.execute(
        sa.select(RPO_SAMPLES.c.target, RPO_SAMPLES.c.archive_lag_seconds, RPO_SAMPLES.c.rpo_objective_seconds)
        .where(*in_period(RPO_SAMPLES.c.sampled_at, start, end), RPO_SAMPLES.c.archive_lag_seconds.is_not(None)))
    found: dict[str, list[Any]] = {}
    for row in rows.mappings():
        found.setdefault(row["target"], []).append(row)
    return found


def longest_without_green(greens: Sequence[datetime], start: datetime, end: datetime) -> float:
    """Seconds of the longest stretch of the period with no green run finishing: the gaps between the period's
    start, each green run's finish and the period's end."""
    moments = [start, *(min(max(green, start), end) for green in greens), end]
    return max((later - earlier).total_seconds() for earlier, later in zip(moments, moments[1:]))


def _breaches(runs: Sequence[Any], info: TargetInfo) -> list[dict[str, Any]]:
    """Each RTO or RPO measured above its objective (the run's own, else the target's)."""
    found = []
    for run in runs:
        for measure in MEASURES:
            value = run[f"{measure}_seconds"]
            objective = run[f"{measure}_objective_seconds"] or getattr(info, f"{measure}_objective_seconds")
            if value is not None and objective is not None and value > objective:
                found.append({"measure": measure.upper(), "drill": run["drill"], "run_id": run["run_id"],
                              "started_at": run["started_at"], "seconds": value, "objective_seconds": objective,
                              "airflow_run": run_link(run)})
    return found


def _backup_state(row: dict[str, Any], allowed: float | None) -> dict[str, Any]:
    """The newest valid backup and whether it is stale (none at all, or older than allowed)."""
    newest = row["newest_valid_backup"]
    stale = newest is None or (allowed is not None and newest["age_seconds"] > allowed)
    return {"newest_valid": newest, "allowed_age_seconds": allowed, "stale": stale,
            "stale_reason": ("no valid backup" if newest is None else "older than allowed") if stale else None}


def _target_report(row: dict[str, Any], wanted: ReportTarget, summary: dict[str, Any], measured: Sequence[Any],
                   greens: dict[tuple[str, str], list[datetime]], lags: Sequence[Any], start: datetime,
                   end: datetime) -> dict[str, Any]:
    info = wanted.info
    kinds = {name: dict(stats) for name, stats in summary["kinds"].items()}
    for name in wanted.scheduled_kinds:  # scheduled but never run in the period: a whole period without green
        kinds.setdefault(name, {"runs": 0, "passed": 0, "pass_rate": None, "mttr_seconds": None, "repairs": 0,
                                "red_since": None})
    for name, stats in kinds.items():
        stats["longest_without_green_seconds"] = longest_without_green(greens.get((info.name, name), []), start, end)
    lag_values = [sample["archive_lag_seconds"] for sample in lags]
    return {
        "target": info.name, "owner": info.owner, "tags": list(info.tags), "configured": row["configured"],
        "objectives": row["objectives"],
        "drills_run": summary["runs"], "passed": sum(stats["passed"] for stats in kinds.values()),
        "pass_rate": summary["pass_rate"], "mttr_seconds": summary["mttr_seconds"], "kinds": kinds,
        **{measure: _spread([run[f"{measure}_seconds"] for run in measured if run[f"{measure}_seconds"] is not None],
                            getattr(info, f"{measure}_objective_seconds")) for measure in MEASURES},
        "breaches": _breaches(measured, info),
        "backup": _backup_state(row, wanted.allowed_backup_age_seconds),
        "archive_lag": {**_spread(lag_values, info.rpo_objective_seconds),
                        "over_objective": sum(sample["archive_lag_seconds"] > sample["rpo_objective_seconds"]
                                              for sample in lags),
                        "latest_seconds": row["archive_lag_seconds"], "latest_at": row["archive_lag_sampled_at"]},
        "open_findings": row["open_findings"],
        "series": [{key: run[key] for key in ("started_at", "drill", "verdict", "rto_seconds", "rpo_seconds")}
                   for run in measured[-CHART_POINTS:]],
    }


def _fleet_totals(targets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    run, passed = sum(item["drills_run"] for item in targets), sum(item["passed"] for item in targets)
    gaps = [(stats["longest_without_green_seconds"], item["target"], name) for item in targets
            for name, stats in item["kinds"].items()]
    longest = max(gaps, default=None)
    return {
        "targets": len(targets), "drills_run": run, "passed": passed, "pass_rate": passed / run if run else None,
        "breaches": sum(len(item["breaches"]) for item in targets),
        "stale_backups": sum(item["backup"]["stale"] for item in targets),
        "open_findings": sum(len(item["open_findings"]) for item in targets),
        "archive_lag_over_objective": sum(item["archive_lag"]["over_objective"] for item in targets),
        "mttr_seconds": mean_mttr(stats for item in targets for stats in item["kinds"].values()),
        "longest_without_green": {"seconds": longest[0], "target": longest[1], "drill": longest[2]} if longest else None,
    }


def period_label(start: datetime, end: datetime) -> str:
    """``20261130T0000Z-20261207T0000Z``: the period in a storage key."""
    return f"{start:%Y%m%dT%H%MZ}-{end:%Y%m%dT%H%MZ}"


def build_report(url: str, targets: Sequence[ReportTarget], end: datetime, days: int) -> dict[str, Any]:
    """The report of the ``days`` before ``end`` (UTC): per target and fleet totals, JSON-ready."""
    start = end - timedelta(days=days)
    rows = fleet(url, [wanted.info for wanted in targets], now=end)
    wanted_by_name = {wanted.info.name: wanted for wanted in targets}
    with history_engine(url).connect() as connection:
        measured, greens = _measured_runs(connection, start, end), _green_times(connection, start, end)
        lags = _lag_samples(connection, start, end)
    per_target = [_target_report(row, wanted_by_name.get(row["target"], ReportTarget(TargetInfo(row["target"]))),
                                 target_summary(url, row["target"], since=start, until=end),
                                 measured.get(row["target"], []), greens, lags.get(row["target"], []), start, end)
                  for row in rows]
    return {"title": "drdrill DR report",
            "period": {"start": start.isoformat(), "end": end.isoformat(), "days": days,
                       "label": period_label(start, end)},
            "fleet": _fleet_totals(per_target), "targets": per_target}
