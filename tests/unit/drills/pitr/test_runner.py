"""``drdrill.drills.pitr.runner``: the in-process PITR drill, where no server is needed (nothing to recover from)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.pitr.form import PitrOptions
from drdrill.drills.pitr.runner import run_pitr_drill
from drdrill.history import list_drills
from tests.helpers.recovery import empty_servers
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
STARTED = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def run(tmp_path: Path, options: PitrOptions):
    """The drill on an empty bucket; the record, the finding codes and the history it went to."""
    history = f"sqlite:///{tmp_path}/history.sqlite"
    record, findings = run_pitr_drill(load_test_target(tmp_path), empty_servers(), options,
                                      work_dir=tmp_path / "work", history_url=history, run_id="cli__pitr",
                                      started_at=STARTED)
    return record, [finding.code for finding in findings], history


def test_a_random_target_without_a_recoverable_window_is_unreachable_and_recorded(tmp_path: Path) -> None:
    record, codes, history = run(tmp_path, PitrOptions())
    assert (record.verdict, codes) == ("failed", ["PITR_TARGET_UNREACHED"])
    assert record.details["failed_steps"] == ["plan"] and record.details["scratch"] == {"kept": False}
    assert record.details["target_time"] is None and record.details["binlogs"] is None
    assert [drill.verdict for drill in list_drills(history, "shop", "pitr")] == ["failed"]


def test_a_given_second_without_a_backup_is_no_valid_backup_and_one_in_the_future_is_unreachable(tmp_path: Path) -> None:
    _, codes, _ = run(tmp_path, PitrOptions(target_time=STARTED - timedelta(hours=1)))
    assert codes == ["NO_VALID_BACKUP"]
    _, codes, _ = run(tmp_path, PitrOptions(target_time=STARTED + timedelta(hours=1)))
    assert codes == ["PITR_TARGET_UNREACHED"]
