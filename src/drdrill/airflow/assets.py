"""Airflow Assets: a target's backups, updated when a valid backup lands."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable

from drdrill.config import Target


def backup_asset(target: Target) -> Asset:
    """The asset later drills schedule on: ``s3://bucket/prefix/<target>/full``."""
    prefix = f"{target.storage.prefix}/" if target.storage.prefix else ""
    return Asset(
        name=f"drdrill_backup__{target.name}",
        uri=f"s3://{target.storage.bucket}/{prefix}{target.name}/full",
        group="drdrill",
    )


def after_backup_schedule(target: Target, cron: str | None, after_backup: bool) -> Any:
    """A drill's schedule: its cron, and/or every update of the target's backup asset."""
    if not after_backup:
        return cron
    if cron is None:
        return [backup_asset(target)]
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=backup_asset(target))
