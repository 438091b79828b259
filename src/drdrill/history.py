"""Drill records in a results database through SQLAlchemy: a SQLite file by default, any URL otherwise."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

METADATA = sa.MetaData()
DRILL_RUNS = sa.Table(
    "drill_runs",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("target", sa.String(64), nullable=False, index=True),
    sa.Column("drill", sa.String(32), nullable=False, index=True),
    sa.Column("backup_id", sa.String(64)),
    sa.Column("verdict", sa.String(20), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=False),
    sa.Column("rto_seconds", sa.Float),
    sa.Column("rto_objective_seconds", sa.Float),
    sa.Column("rpo_seconds", sa.Float),
    sa.Column("rpo_objective_seconds", sa.Float),
    sa.Column("stage_seconds", sa.Text, nullable=False, default="{}"),
    sa.Column("findings", sa.Text, nullable=False, default="[]"),
    sa.Column("details", sa.Text, nullable=False, default="{}"),
    sa.UniqueConstraint("run_id", "target", "drill", name="uq_drill_run"),
)

RPO_SAMPLES = sa.Table(
    "rpo_samples",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(64), nullable=False, index=True),
    sa.Column("sampled_at", sa.String(40), nullable=False, index=True),
    sa.Column("archive_lag_seconds", sa.Float),
    sa.Column("backup_age_seconds", sa.Float),
    sa.Column("rpo_objective_seconds", sa.Float, nullable=False),
    sa.Column("max_backup_age_seconds", sa.Float),
    sa.Column("findings", sa.Text, nullable=False, default="[]"),
)


@dataclass(frozen=True)
class RpoSample:
    """One reading of the predicted RPO: how far the binlog archive trails the source, how old the newest backup is."""

    target: str
    sampled_at: str
    archive_lag_seconds: float | None
    backup_age_seconds: float | None
    rpo_objective_seconds: float
    max_backup_age_seconds: float | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def record_rpo_sample(url: str, sample: RpoSample) -> None:
    """Append one sample to the time series."""
    values = sample.to_dict()
    values["findings"] = json.dumps(values["findings"], sort_keys=True, default=str)
    with history_engine(url).begin() as connection:
        connection.execute(sa.insert(RPO_SAMPLES).values(**values))


def list_rpo_samples(url: str, target: str | None = None, limit: int = 100) -> list[RpoSample]:
    """Newest samples first."""
    query = sa.select(RPO_SAMPLES).order_by(RPO_SAMPLES.c.sampled_at.desc(), RPO_SAMPLES.c.id.desc()).limit(limit)
    if target:
        query = query.where(RPO_SAMPLES.c.target == target)
    with history_engine(url).connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [RpoSample(**{**{key: row[key] for key in RpoSample.__dataclass_fields__},
                         "findings": json.loads(row["findings"] or "[]")}) for row in rows]


@dataclass(frozen=True)
class DrillRecord:
    """One drill run: what was drilled, the verdict, measurements against objectives, findings, evidence."""

    run_id: str
    target: str
    drill: str
    verdict: str
    started_at: str
    finished_at: str
    backup_id: str | None = None
    rto_seconds: float | None = None
    rto_objective_seconds: float | None = None
    rpo_seconds: float | None = None
    rpo_objective_seconds: float | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


_ENGINES: dict[str, sa.Engine] = {}


def history_engine(url: str) -> sa.Engine:
    """The history database at ``url`` (its tables, the drill locks' too, created on first use)."""
    if url not in _ENGINES:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, future=True)
        METADATA.create_all(engine)
        _ENGINES[url] = engine
    return _ENGINES[url]


def record_drill(url: str, record: DrillRecord) -> None:
    """Insert the record, or replace it when the same run is recorded again (a retried task)."""
    values = record.to_dict()
    for key in ("stage_seconds", "findings", "details"):
        values[key] = json.dumps(values[key], sort_keys=key != "stage_seconds", default=str)  # stages keep step order
    with history_engine(url).begin() as connection:
        connection.execute(sa.delete(DRILL_RUNS).where(
            DRILL_RUNS.c.run_id == record.run_id, DRILL_RUNS.c.target == record.target, DRILL_RUNS.c.drill == record.drill))
        connection.execute(sa.insert(DRILL_RUNS).values(**values))


def list_drills(url: str, target: str | None = None, drill: str | None = None, limit: int = 50,
                run_id: str | None = None, since: str | None = None) -> list[DrillRecord]:
    """Newest records first, optionally for one target, drill kind and run id, and started at ``since`` (ISO) or later."""
    query = sa.select(DRILL_RUNS).order_by(DRILL_RUNS.c.started_at.desc(), DRILL_RUNS.c.id.desc()).limit(limit)
    if since:
        query = query.where(DRILL_RUNS.c.started_at >= since)
    if target:
        query = query.where(DRILL_RUNS.c.target == target)
    if drill:
        query = query.where(DRILL_RUNS.c.drill == drill)
    if run_id:
        query = query.where(DRILL_RUNS.c.run_id == run_id)
    with history_engine(url).connect() as connection:
        rows = connection.execute(query).mappings().all()
    records = []
    for row in rows:
        data = {key: row[key] for key in DrillRecord.__dataclass_fields__}
        for key in ("stage_seconds", "findings", "details"):
            data[key] = json.loads(data[key] or "null") or ({} if key != "findings" else [])
        records.append(DrillRecord(**data))
    return records
