"""The scorecard API's answers as response models: what its OpenAPI document (``/drdrill/openapi.json``) describes.

The queries build plain dicts; these models name and describe their fields. Each allows extra fields, so a field a
query adds is answered before it is described here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Seconds = float | None


class Answer(BaseModel):
    """Base: extra fields pass through."""

    model_config = ConfigDict(extra="allow")


class Finding(Answer):
    """A problem a drill found, with its fix."""

    code: str
    message: str
    fix: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict)


class OpenFinding(Finding):
    """A finding of a drill kind's last run that did not pass."""

    drill: str


class RunFacts(Answer):
    """What every view of a drill run shows: which run, its verdict, times, RTO and RPO against the objectives."""

    run_id: str
    verdict: str = Field(description="passed, failed or could_not_verify")
    started_at: str
    finished_at: str
    rto_seconds: Seconds
    rto_objective_seconds: Seconds
    rpo_seconds: Seconds
    rpo_objective_seconds: Seconds
    airflow_run: str | None = Field(description="the run's path in the Airflow UI; null for a command-line run")


class DrillCell(RunFacts):
    """A drill kind's last run of a target."""

    backup_id: str | None


class Backup(Answer):
    """A backup the fleet row names: when it was made and its age."""

    backup_id: str
    at: str | None = Field(description="when it was made (its backup drill finished)")
    age_seconds: Seconds
    proven_at: str | None = Field(None, description="the newest proven one: when a restore drill proved it")


class PitrWindow(Answer):
    """The recoverable point-in-time window the last restore drill recorded."""

    start: str
    end: str | None
    as_of: str


class Objectives(Answer):
    """A target's RTO and RPO objectives."""

    rto_seconds: Seconds
    rpo_seconds: Seconds


class FleetRow(Answer):
    """One target of the fleet page."""

    target: str
    owner: str
    tags: list[str]
    description: str
    configured: bool = Field(description="in the drills YAML (false: known only to the history)")
    objectives: Objectives
    drills: dict[str, DrillCell] = Field(description="per drill kind, its last run")
    open_findings: list[OpenFinding]
    newest_valid_backup: Backup | None
    newest_proven_backup: Backup | None
    pitr_window: PitrWindow | None
    archive_lag_seconds: Seconds = Field(description="the last archive lag sample: the predicted RPO")
    archive_lag_sampled_at: str | None


class Fleet(Answer):
    """The fleet page's data."""

    generated_at: str
    drill_kinds: list[str]
    targets: list[FleetRow]


class KindStats(Answer):
    """One drill kind's runs, pass rate and MTTR."""

    runs: int
    passed: int
    pass_rate: float
    mttr_seconds: Seconds = Field(description="mean time from a red run to the next green one")
    repairs: int
    red_since: str | None = Field(description="the unrepaired red streak's first start")


class SeriesPoint(RunFacts):
    """A measured run, for the charts."""

    id: int = Field(description="the run's id in the history (in its artifact links)")
    target: str
    drill: str
    stage_seconds: dict[str, float]


class TargetInfo(Answer):
    """What the drills YAML says of a target."""

    name: str
    owner: str
    tags: list[str]
    rto_objective_seconds: Seconds
    rpo_objective_seconds: Seconds
    description: str


class TargetSummary(Answer):
    """A target page's data: pass rate, MTTR, the chart series and the configured target."""

    target: str
    runs: int
    pass_rate: float | None
    mttr_seconds: Seconds
    kinds: dict[str, KindStats]
    series: list[SeriesPoint]
    info: TargetInfo


class Run(SeriesPoint):
    """One drill run as recorded, with its links."""

    backup_id: str | None
    findings: list[Finding]
    details: dict[str, Any]
    links: dict[str, str] = Field(description="app-relative paths of its stored artifacts: evidence_html, "
                                              "evidence_json, gx_results, data_docs (those its record names)")


class RunsPage(Answer):
    """One page of a target's history, newest first."""

    total: int
    offset: int
    limit: int
    runs: list[Run]
