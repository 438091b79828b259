"""The PITR drill's trigger form: the DAG's Params, the options its tasks read and the CLI's flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drdrill.drills.form import Kind, form_field


@dataclass(frozen=True)
class PitrOptions:
    """The second to recover to, whether to keep the scratch server, and the declared disaster."""

    target_time: datetime | None = form_field(
        Kind.TIME, "", title="Recover to (ISO-8601, UTC)",
        description="A whole second, e.g. 2026-11-21T08:00:00Z; empty: a random recoverable second.",
        empty_means="a random recoverable second", past_only=True,
        flag="--to", flag_help="the second to recover to (ISO-8601, UTC); default: a random recoverable second")
    keep_scratch: bool = form_field(
        Kind.BOOLEAN, False, title="Keep the scratch server",
        description="Leave the recovered server running for inspection.",
        flag="--keep-scratch", flag_help="leave the recovered server running")
    disaster_at: datetime | None = form_field(
        Kind.TIME, "", title="Declared disaster (ISO-8601, UTC)",
        description="The moment RTO is measured from; empty: the drill's start.", empty_means="the drill's start",
        past_only=True)
