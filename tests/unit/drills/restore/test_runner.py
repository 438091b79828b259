"""``drdrill.drills.restore.runner``: the in-process restore drill, where no server is needed (no backup to restore)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.runner import run_restore_drill
from drdrill.history import list_drills
from tests.helpers.recovery import empty_servers
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
STARTED = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def run(tmp_path: Path, options: RestoreOptions):
    """The drill on an empty bucket; the record, the findings and the history it went to."""
    history = f"sqlite:///{tmp_path}/history.sqlite"
    return (*run_restore_drill(load_test_target(tmp_path), empty_servers(), options, work_dir=tmp_path / "work",
                               history_url=history, run_id="cli__test", started_at=STARTED), history)


def test_a_target_without_a_valid_backup_is_recorded_failed_before_anything_is_restored(tmp_path: Path) -> None:
    record, findings, history = run(tmp_path, RestoreOptions())
    assert record.verdict == "failed" and [finding.code for finding in findings] == ["NO_VALID_BACKUP"]
    assert record.details["failed_steps"] == ["select_backup"]
    assert record.details["scratch"] == {"kept": False}  # teardown ran although no scratch server was made
    assert record.details["disaster_at"] == STARTED.isoformat()
    assert record.details["pitr_window_start"] is None and record.rto_seconds is None
    assert [(drill.run_id, drill.verdict) for drill in list_drills(history, "shop", "restore")] == [("cli__test", "failed")]


def test_the_declared_disaster_and_the_backup_asked_for_are_the_forms(tmp_path: Path) -> None:
    declared = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
    record, findings, _ = run(tmp_path, RestoreOptions(backup="backup_id", backup_id="20261121T083012Z-a1b2c3",
                                                       disaster_at=declared))
    assert [finding.code for finding in findings] == ["NO_VALID_BACKUP"]
    assert "20261121T083012Z-a1b2c3" in findings[0].message
    assert record.details["disaster_at"] == declared.isoformat()
