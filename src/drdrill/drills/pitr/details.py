"""What a PITR drill run records beyond RTO/RPO, from its steps' results.

The Airflow record task and the in-process runner both build the details here; RTO/RPO and the Slack
lines are the restore drill's (``drdrill.drills.restore.details``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def pitr_details(results: Mapping[str, Any]) -> dict[str, Any]:
    """The record's details: the target second, the binlogs replayed, the markers, replay speed, the GX results."""
    planned = results.get("plan") or {}
    measured = results.get("measure") or {}
    return {
        "target_time": planned.get("target_time"), "binlogs": planned.get("files"), "markers": planned.get("markers"),
        "replay_mb_per_second": measured.get("replay_mb_per_second"),
        "results_uri": (results.get("validate") or {}).get("results_uri"),
    }
