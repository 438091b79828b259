"""``drdrill.airflow.assets``: a target's backup asset and the schedules that follow it."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import Asset, AssetOrTimeSchedule

from drdrill.airflow.assets import after_backup_schedule, backup_asset
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_the_backup_asset_is_named_after_the_target_and_points_at_its_full_backups(tmp_path: Path) -> None:
    asset = backup_asset(load_test_target(tmp_path, prefix="prod/eu"))
    assert (asset.name, asset.uri, asset.group) == ("drdrill_backup__shop", "s3://drdrill-backups/prod/eu/shop/full",
                                                    "drdrill")


def test_an_empty_prefix_leaves_no_empty_path_segment(tmp_path: Path) -> None:
    assert backup_asset(load_test_target(tmp_path, prefix="''")).uri == "s3://drdrill-backups/shop/full"


def test_two_targets_have_two_assets(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert backup_asset(load_test_target(tmp_path / "a")) != backup_asset(load_test_target(tmp_path / "b", name="billing"))


def test_without_after_backup_the_schedule_is_the_cron_alone(tmp_path: Path) -> None:
    target = load_test_target(tmp_path)
    assert after_backup_schedule(target, "0 3 * * *", after_backup=False) == "0 3 * * *"
    assert after_backup_schedule(target, None, after_backup=False) is None


def test_after_backup_alone_schedules_on_the_backup_asset(tmp_path: Path) -> None:
    target = load_test_target(tmp_path)
    assert after_backup_schedule(target, None, after_backup=True) == [backup_asset(target)]


def test_after_backup_and_a_cron_schedule_on_either(tmp_path: Path) -> None:
    target = load_test_target(tmp_path)
    schedule = after_backup_schedule(target, "0 3 * * *", after_backup=True)
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert schedule.asset_condition == backup_asset(target) and isinstance(schedule.asset_condition, Asset)
    assert (schedule.timetable.expression, str(schedule.timetable.timezone)) == ("0 3 * * *", "UTC")  # type: ignore[attr-defined]
