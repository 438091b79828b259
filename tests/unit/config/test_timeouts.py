"""Task and run bounds from a target's ``timeouts`` and objectives, and bad values told as config errors."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.config.models import Timeouts
from drdrill.config.timeouts import recovery_bound, run_timeout, task_timeout, timeout_key

from .drills_files import assert_names, load_error, with_target_lines

pytestmark = pytest.mark.unit


def test_recovery_tasks_are_bound_by_the_rto_objective_and_planning_is_short(tmp_path: Path) -> None:
    shop = load_config(with_target_lines(tmp_path)).target("shop")  # rto: 30m
    assert recovery_bound(shop) == timedelta(minutes=45)
    assert task_timeout(shop, "restore", "recover") == task_timeout(shop, "failover", "promote") == timedelta(minutes=45)
    assert task_timeout(shop, "restore", "select_backup") == task_timeout(shop, "pitr", "record") == timedelta(minutes=10)
    assert task_timeout(shop, "backup", "dump_and_upload") == timedelta(hours=6)
    assert task_timeout(shop, "binlog_archive", "archive") == timedelta(minutes=30)
    assert task_timeout(shop, "rpo_monitor", "sample") == timedelta(minutes=10)
    assert timeout_key("restore", "recover") == "timeouts.recovery"
    assert timeout_key("backup", "record") == "timeouts.short"


def test_a_tiny_rto_still_leaves_the_floor_and_an_explicit_recovery_bound_wins(tmp_path: Path) -> None:
    shop = load_config(with_target_lines(tmp_path)).target("shop")
    tiny = dataclasses.replace(shop, objectives=dataclasses.replace(shop.objectives, rto=timedelta(seconds=30)))
    assert recovery_bound(tiny) == timedelta(minutes=10)
    assert recovery_bound(dataclasses.replace(shop, timeouts=Timeouts(recovery=timedelta(hours=2)))) == timedelta(hours=2)


def test_the_approval_task_waits_its_approval_timeout_and_a_run_holds_every_try_and_the_lock_wait(tmp_path: Path) -> None:
    shop = load_config(with_target_lines(tmp_path, "timeouts: {lock_wait: 5m}")).target("shop")
    assert task_timeout(shop, "failover", "approve") == timedelta(hours=4, minutes=10)
    assert timeout_key("failover", "approve") == "failover_drill.approval_timeout"
    assert run_timeout(shop, "restore", [("select_backup", 0), ("recover", 2), ("record", 0)]) == \
        timedelta(minutes=5 + 10 + 3 * 45 + 10)


def test_timeouts_are_inherited_from_defaults(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path)
    path.write_text("defaults:\n  timeouts: {backup: 2h}\n" + path.read_text())
    assert load_config(path).target("shop").timeouts.backup == timedelta(hours=2)


@pytest.mark.parametrize("line, key, piece", [
    ("timeouts: {backup: forever}", "targets[shop].timeouts.backup", "invalid duration 'forever'"),
    ("timeouts: {recovery: -5m}", "targets[shop].timeouts.recovery", "negative durations are not allowed"),
    ("timeouts: {lock_wait: 0}", "targets[shop].timeouts.lock_wait", "greater than zero"),
    ("timeouts: {shrot: 5m}", "targets[shop].timeouts.shrot", "Did you mean 'short'"),
])
def test_a_bad_timeout_is_a_clear_config_error(tmp_path: Path, line: str, key: str, piece: str) -> None:
    path = with_target_lines(tmp_path, line)
    assert_names(load_error(path), path, key, piece)


def test_scratch_slots_must_be_a_positive_whole_number(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path)
    path.write_text("settings: {scratch_slots: 0}\n" + path.read_text())
    assert_names(load_error(path), path, "settings.scratch_slots", "1 or more")
