"""Whether a backup's verify re-reads every byte (deep) or checks S3's checksums: asked for, or due by the target's
``verify.deep_every`` (its last deep verify, as the drill history records it, is older than that)."""

from __future__ import annotations

from datetime import datetime, timezone

from drdrill.config import Target
from drdrill.durations import format_duration
from drdrill.history import list_drills
from drdrill.storage.verify import DEEP

# Backup records read back to find the last deep verify: more backups than one deep_every period holds are unusual
# (hourly backups with deep_every 7d are 168), and missing one only makes this verify deep.
RECORDS_READ = 1000


def deep_verify_reason(target: Target, history_url: str, now: datetime, *, asked: bool) -> str | None:
    """Why this verify must be deep, or None when S3's checksums suffice."""
    if asked:
        return "a deep verify was asked for"
    every = target.verify.deep_every
    if not every:
        return "verify.deep_every is 0s: every verify is deep"
    since = (now - every).astimezone(timezone.utc)
    recent = list_drills(history_url, target=target.name, drill="backup", limit=RECORDS_READ, since=since.isoformat())
    if any((record.details.get("verify") or {}).get("kind") == DEEP for record in recent):
        return None
    return (f"no deep verify of {target.name} since {since:%Y-%m-%d %H:%M} UTC "
            f"(verify.deep_every {format_duration(every)})")
