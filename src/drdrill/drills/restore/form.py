"""The restore drill's trigger form: the DAG's Params, the options its tasks read and the CLI's flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from drdrill.drills.form import Kind, form_field
from drdrill.drills.restore.steps import CHOICES


@dataclass(frozen=True)
class RestoreOptions:
    """Which backup, whether to keep the scratch server, objective overrides and the declared disaster."""

    backup: str = form_field(
        Kind.CHOICE, "newest", choices=CHOICES, title="Which backup",
        description="newest valid backup; a given backup id; or a random valid backup within the window.")
    backup_id: str = form_field(
        Kind.TEXT, "", title="Backup id", description="With 'backup_id': e.g. 20261121T083012Z-a1b2c3.",
        flag="--backup-id", flag_position=1, flag_help="restore this backup instead of the newest valid one",
        selects=("backup", "backup_id"))
    window_days: int = form_field(
        Kind.INTEGER, 7, minimum=1, title="Window (days)", description="With 'random': how far back.",
        flag="--random-within-days", flag_position=2, flag_help="restore a random valid backup from the last N days",
        selects=("backup", "random"))
    keep_scratch: bool = form_field(
        Kind.BOOLEAN, False, title="Keep the scratch server",
        description="Leave the restored server running for inspection (its login is in the teardown log).",
        flag="--keep-scratch", flag_position=3, flag_help="leave the restored server running for inspection")
    rto_objective: timedelta | None = form_field(
        Kind.DURATION, "", title="RTO objective override", description="e.g. 10m; empty: the target's.",
        flag="--rto", flag_position=5, flag_help="RTO objective override, e.g. 10m")
    rpo_objective: timedelta | None = form_field(
        Kind.DURATION, "", title="RPO objective override", description="e.g. 5m; empty: the target's.",
        flag="--rpo", flag_position=6, flag_help="RPO objective override, e.g. 5m")
    disaster_at: datetime | None = form_field(
        Kind.TIME, "", title="Declared disaster (ISO-8601, UTC)",
        description="The moment RTO and RPO are measured from; empty: the drill's start.",
        empty_means="the drill's start", past_only=True,
        flag="--disaster-at", flag_position=4, flag_help="declared disaster time (ISO-8601); default: now")
