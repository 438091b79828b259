"""What a restore drill run records (details, RTO/RPO) and posts to Slack, from its steps' results.

The Airflow record task and the in-process runner both build the record here, so the two paths record
the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drdrill.drills.restore.steps import measurement_lines

MEASUREMENTS = ("rto_seconds", "rto_objective_seconds", "rpo_seconds", "rpo_objective_seconds")


def restore_details(results: Mapping[str, Any], *, disaster_at: datetime | None,
                    pitr_window: Mapping[str, str | None]) -> dict[str, Any]:
    """The record's details: the backup, the GX evidence, throughputs, the declared disaster and the PITR window.

    The backup described is the one restored (see :func:`restored_backup`).
    ``disaster_at``: the declared disaster, when the form could be read. (The in-process run adds what
    teardown did; under Airflow, teardown runs beside the record task.)
    """
    selected = results.get("select_backup") or {}
    restored = {**selected, **(results.get("fetch_and_verify") or {})}  # the fetch may have fallen back to an older one
    validated = results.get("validate") or {}
    measured = results.get("measure") or {}
    return {
        "engine": restored.get("engine"), "backup_age_seconds": restored.get("age_seconds"),
        "choice": selected.get("choice"), "results_uri": validated.get("results_uri"),
        "data_docs_uri": validated.get("data_docs_uri"), "expectations": validated.get("evaluated"),
        "fetch_mb_per_second": measured.get("fetch_mb_per_second"),
        "restore_mb_per_second": measured.get("restore_mb_per_second"),
        "disaster_at": disaster_at.isoformat() if disaster_at else measured.get("disaster_at"),
        "newest_heartbeat": measured.get("newest_heartbeat"), **pitr_window,
    }


def restored_backup(results: Mapping[str, Any]) -> str | None:
    """The backup the drill restored: the one fetched (the newest usable, when the chosen one was broken), else the one chosen."""
    fetched = results.get("fetch_and_verify") or {}
    return fetched.get("backup_id") or (results.get("select_backup") or {}).get("backup_id")


def measurements(results: Mapping[str, Any]) -> dict[str, float | None]:
    """RTO and RPO with their objectives, as the measure step found them (None when it did not run)."""
    measured = results.get("measure") or {}
    return {name: measured.get(name) for name in MEASUREMENTS}


def slack_lines(results: Mapping[str, Any]) -> dict[str, str] | None:
    """RTO and RPO against the objectives for the Slack alert; None when nothing was measured."""
    measured = results.get("measure")
    return measurement_lines(measured) if measured else None
