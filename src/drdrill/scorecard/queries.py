"""The scorecard's reading of the drill history: the fleet's last verdicts, a target's history, pass rate and MTTR.

Plain SQLAlchemy over ``drdrill.history``'s tables; the targets' objectives, tags and owners come in as
:class:`TargetInfo` values (from the drills YAML), so targets known only to the history still show.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from drdrill.drill_kinds import BY_NAME, drill_names
from drdrill.findings import PASSED
from drdrill.history import DRILL_RUNS, RPO_SAMPLES, history_engine
from drdrill.scorecard.backups import COLUMNS as BACKUP_COLUMNS
from drdrill.scorecard.backups import FETCHING_DRILLS, NAMES_UNUSABLE, Standing, standings

if TYPE_CHECKING:
    from drdrill.config import Target

CLI_RUN_PREFIX = "cli__"  # runs from the command line have no Airflow run to link to
CHART_POINTS = 500  # the newest measured runs a target's chart draws


@dataclass(frozen=True)
class TargetInfo:
    """What the drills YAML says about a target, as far as the scorecard shows it."""

    name: str
    owner: str = ""
    tags: tuple[str, ...] = ()
    rto_objective_seconds: float | None = None
    rpo_objective_seconds: float | None = None
    description: str = ""

    @classmethod
    def of(cls, target: Target) -> TargetInfo:
        """What the scorecard shows of a configured target."""
        return cls(target.name, target.owner, tuple(target.tags), target.objectives.rto.total_seconds(),
                   target.objectives.rpo.total_seconds(), target.description)


@dataclass(frozen=True)
class Page:
    """One page of a target's history, newest first."""

    total: int
    offset: int
    limit: int
    runs: list[dict[str, Any]] = field(default_factory=list)


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _age_seconds(when: str | None, now: datetime) -> float | None:
    return None if when is None else (now - datetime.fromisoformat(when)).total_seconds()


def run_link(row: Any) -> str | None:
    """The Airflow UI path of the run that recorded ``row`` (None for a command-line run or an unknown kind)."""
    kind = BY_NAME.get(row["drill"])
    if kind is None or row["run_id"].startswith(CLI_RUN_PREFIX):
        return None
    return f"dags/{kind.dag_id(row['target'])}/runs/{row['run_id']}"


def _run(row: Any) -> dict[str, Any]:
    """A history row as the API returns it (JSON columns decoded, the Airflow run's link added)."""
    data = dict(row)
    for key, empty in (("stage_seconds", {}), ("findings", []), ("details", {})):
        data[key] = json.loads(data[key] or "null") or empty
    data["airflow_run"] = run_link(row)
    return data


def _latest_rows(connection: sa.Connection, target: str | None = None) -> list[Any]:
    """The newest record of each (target, drill), by one window query whatever the history's size."""
    rank = sa.func.row_number().over(partition_by=(DRILL_RUNS.c.target, DRILL_RUNS.c.drill),
                                     order_by=(DRILL_RUNS.c.started_at.desc(), DRILL_RUNS.c.id.desc()))
    ranked = sa.select(DRILL_RUNS, rank.label("rank"))
    if target is not None:
        ranked = ranked.where(DRILL_RUNS.c.target == target)
    inner = ranked.subquery()
    return list(connection.execute(sa.select(inner).where(inner.c.rank == 1)).mappings())


def _backup_standings(connection: sa.Connection, targets: Sequence[str]) -> dict[str, Standing]:
    """Per target, what its records say of its backups (:mod:`drdrill.scorecard.backups`), oldest finished first."""
    query = (sa.select(*(DRILL_RUNS.c[name] for name in BACKUP_COLUMNS))
             .where(DRILL_RUNS.c.target.in_(targets), DRILL_RUNS.c.drill.in_(("backup", *FETCHING_DRILLS)),
                    sa.or_(DRILL_RUNS.c.backup_id.is_not(None),
                           *(DRILL_RUNS.c.findings.contains(code) for code in NAMES_UNUSABLE)))
             .order_by(DRILL_RUNS.c.finished_at, DRILL_RUNS.c.id))
    return standings(connection.execute(query).mappings())


def _latest_rpo_samples(connection: sa.Connection, targets: Sequence[str]) -> dict[str, Any]:
    rank = sa.func.row_number().over(partition_by=RPO_SAMPLES.c.target,
                                     order_by=(RPO_SAMPLES.c.sampled_at.desc(), RPO_SAMPLES.c.id.desc()))
    inner = sa.select(RPO_SAMPLES, rank.label("rank")).where(RPO_SAMPLES.c.target.in_(targets)).subquery()
    return {row["target"]: row for row in connection.execute(sa.select(inner).where(inner.c.rank == 1)).mappings()}


def _drill_cell(row: Any) -> dict[str, Any]:
    run = _run(row)
    return {key: run[key] for key in ("verdict", "started_at", "finished_at", "run_id", "backup_id", "rto_seconds",
                                      "rto_objective_seconds", "rpo_seconds", "rpo_objective_seconds", "airflow_run")}


def fleet(url: str, targets: Iterable[TargetInfo], now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per target (the configured ones, then any only the history knows): per drill kind the last run,
    the open findings (those of each kind's last run that did not pass), the newest valid and newest proven backup
    and their ages (the history's replay of the store's catalog: :mod:`drdrill.scorecard.backups`), the
    recoverable PITR window the last restore drill recorded, and the last archive lag sample."""
    now = now or datetime.now(timezone.utc)
    with history_engine(url).connect() as connection:
        latest = _latest_rows(connection)
        known = {info.name: info for info in targets}
        names = list(known) + sorted({row["target"] for row in latest} - set(known))
        backups = _backup_standings(connection, names)
        samples = _latest_rpo_samples(connection, names)
    rows = []
    for name in names:
        info = known.get(name, TargetInfo(name))
        mine = sorted((row for row in latest if row["target"] == name), key=lambda row: _kind_order(row["drill"]))
        sample = samples.get(name)
        rows.append({
            "target": name, "owner": info.owner, "tags": list(info.tags), "description": info.description,
            "configured": name in known,
            "objectives": {"rto_seconds": info.rto_objective_seconds, "rpo_seconds": info.rpo_objective_seconds},
            "drills": {row["drill"]: _drill_cell(row) for row in mine},
            "open_findings": [{**finding, "drill": row["drill"]} for row in mine if row["verdict"] != PASSED
                              for finding in _run(row)["findings"]],
            **_newest_backups(backups.get(name), now),
            "pitr_window": _pitr_window(mine),
            "archive_lag_seconds": sample["archive_lag_seconds"] if sample else None,
            "archive_lag_sampled_at": sample["sampled_at"] if sample else None,
        })
    return rows


def _pitr_window(latest: Sequence[Any]) -> dict[str, str | None] | None:
    """The recoverable window the last restore drill recorded (restore records carry it)."""
    restore = next((row for row in latest if row["drill"] == "restore"), None)
    details = _run(restore)["details"] if restore is not None else {}
    if restore is None or not details.get("pitr_window_start"):
        return None
    return {"start": details["pitr_window_start"], "end": details.get("pitr_window_end"), "as_of": restore["finished_at"]}


def _kind_order(drill: str) -> int:
    names = drill_names()
    return names.index(drill) if drill in names else len(names)


def _newest_backups(standing: Standing | None, now: datetime) -> dict[str, dict[str, Any] | None]:
    """The newest valid and newest proven backup with when it was made and its age; the proven one also with when
    its proof was drawn."""
    valid, proven = standing.newest() if standing else (None, None)

    def described(backup_id: str | None) -> dict[str, Any] | None:
        if backup_id is None or standing is None:
            return None
        at = standing.made_at(backup_id)
        return {"backup_id": backup_id, "at": at, "age_seconds": _age_seconds(at, now)}

    newest_proven = described(proven)
    if newest_proven is not None and standing is not None:
        newest_proven["proven_at"] = standing.proven_at.get(newest_proven["backup_id"])
    return {"newest_valid_backup": described(valid), "newest_proven_backup": newest_proven}


def run_record(url: str, target: str, record_id: int) -> dict[str, Any] | None:
    """The history record ``record_id`` of ``target`` as the API returns it; None when there is no such record."""
    with history_engine(url).connect() as connection:
        row = connection.execute(sa.select(DRILL_RUNS).where(DRILL_RUNS.c.id == record_id,
                                                             DRILL_RUNS.c.target == target)).mappings().first()
    return None if row is None else _run(row)


def history_page(url: str, target: str, offset: int = 0, limit: int = 50, drill: str | None = None) -> Page:
    """Newest first, ``limit`` runs from ``offset``, and how many there are in all."""
    where = [DRILL_RUNS.c.target == target, *([DRILL_RUNS.c.drill == drill] if drill else [])]
    with history_engine(url).connect() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(DRILL_RUNS).where(*where)).scalar_one()
        rows = connection.execute(sa.select(DRILL_RUNS).where(*where)
                                  .order_by(DRILL_RUNS.c.started_at.desc(), DRILL_RUNS.c.id.desc())
                                  .offset(offset).limit(limit)).mappings().all()
    return Page(total=total, offset=offset, limit=limit, runs=[_run(row) for row in rows])


def mttr(runs: Sequence[Any]) -> dict[str, Any]:
    """Mean time to repair of one drill kind's runs, oldest first: each red streak (failed or could not verify)
    lasts from its first red run's start to the next green run's finish; a streak not yet repaired is open."""
    repaired: list[float] = []
    red_since: str | None = None
    for run in runs:
        if run["verdict"] != PASSED:
            red_since = red_since or run["started_at"]
        elif red_since is not None:
            repaired.append(_seconds_between(red_since, run["finished_at"]))
            red_since = None
    return {"mttr_seconds": sum(repaired) / len(repaired) if repaired else None, "repairs": len(repaired),
            "red_since": red_since}


def mean_mttr(kinds: Iterable[dict[str, Any]]) -> float | None:
    """The MTTR over several kinds' :func:`mttr` results, each weighted by its repairs (None: nothing repaired)."""
    repaired = [(kind["mttr_seconds"], kind["repairs"]) for kind in kinds if kind["repairs"]]
    return sum(seconds * count for seconds, count in repaired) / sum(count for _, count in repaired) if repaired else None


def in_period(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """Conditions on ``column`` (an ISO-8601 text, as the history keeps times): at or after ``since``, before
    ``until``; a None bound is no condition."""
    return [*([column >= since.isoformat()] if since else []), *([column < until.isoformat()] if until else [])]


def target_summary(url: str, target: str, since: datetime | None = None, until: datetime | None = None
                   ) -> dict[str, Any]:
    """Per drill kind: runs, pass rate and MTTR; and the measured runs (RTO/RPO, stages) for the charts; with
    ``since``/``until``, only the runs started in that period (the weekly report's view)."""
    period = in_period(DRILL_RUNS.c.started_at, since, until)
    columns = (DRILL_RUNS.c.id, DRILL_RUNS.c.run_id, DRILL_RUNS.c.target, DRILL_RUNS.c.drill, DRILL_RUNS.c.verdict,
               DRILL_RUNS.c.started_at, DRILL_RUNS.c.finished_at)
    measured = (DRILL_RUNS.c.rto_seconds, DRILL_RUNS.c.rto_objective_seconds, DRILL_RUNS.c.rpo_seconds,
                DRILL_RUNS.c.rpo_objective_seconds, DRILL_RUNS.c.stage_seconds)
    with history_engine(url).connect() as connection:
        runs = connection.execute(sa.select(*columns).where(DRILL_RUNS.c.target == target, *period)
                                  .order_by(DRILL_RUNS.c.started_at, DRILL_RUNS.c.id)).mappings().all()
        points = connection.execute(
            sa.select(*columns, *measured).where(DRILL_RUNS.c.target == target, *period,
                                                 sa.or_(DRILL_RUNS.c.rto_seconds.is_not(None),
                                                        DRILL_RUNS.c.rpo_seconds.is_not(None)))
            .order_by(DRILL_RUNS.c.started_at.desc(), DRILL_RUNS.c.id.desc()).limit(CHART_POINTS)).mappings().all()
    kinds: dict[str, list[Any]] = {}
    for run in runs:
        kinds.setdefault(run["drill"], []).append(run)
    per_kind = {drill: {"runs": len(items), "passed": sum(item["verdict"] == PASSED for item in items),
                        "pass_rate": sum(item["verdict"] == PASSED for item in items) / len(items), **mttr(items)}
                for drill, items in sorted(kinds.items(), key=lambda item: _kind_order(item[0]))}
    return {
        "target": target, "runs": len(runs),
        "pass_rate": sum(run["verdict"] == PASSED for run in runs) / len(runs) if runs else None,
        "mttr_seconds": mean_mttr(per_kind.values()),
        "kinds": per_kind,
        "series": [{**{key: point[key] for key in point.keys() if key != "stage_seconds"},
                    "stage_seconds": json.loads(point["stage_seconds"] or "{}"), "airflow_run": run_link(point)}
                   for point in reversed(points)],
    }
