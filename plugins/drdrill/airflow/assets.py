"""Airflow Assets: a target's backups, updated when a valid backup lands."""

from __future__ import annotations

from airflow.sdk import Asset

from drdrill.config import Target


def backup_asset(target: Target) -> Asset:
    """The asset later drills schedule on: ``s3://bucket/prefix/<target>/full``."""
    prefix = f"{target.storage.prefix}/" if target.storage.prefix else ""
    return Asset(
        name=f"drdrill_backup__{target.name}",
        uri=f"s3://{target.storage.bucket}/{prefix}{target.name}/full",
        group="drdrill",
    )
