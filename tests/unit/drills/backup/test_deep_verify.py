"""When a backup's verify is deep: asked for, deep_every 0s, or no deep verify of the target within deep_every."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.backup.deep_verify import deep_verify_reason
from drdrill.history import DrillRecord, record_drill
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def backup_record(url: str, days_ago: float, kind: str | None, target: str = "shop") -> None:
    started = (NOW - timedelta(days=days_ago)).isoformat()
    record_drill(url, DrillRecord(run_id=f"run-{days_ago}-{target}", target=target, drill="backup", verdict="passed",
                                  started_at=started, finished_at=started, details={"verify": {"kind": kind}}))


def test_deep_is_due_without_a_deep_verify_within_deep_every_and_not_after_one(tmp_path: Path) -> None:
    shop = load_test_target(tmp_path, extra="    verify: {deep_every: 7d}\n")
    url = f"sqlite:///{tmp_path}/history.sqlite"
    reason = deep_verify_reason(shop, url, NOW, asked=False)
    assert reason == "no deep verify of shop since 2026-11-30 12:00 UTC (verify.deep_every 7d)"
    backup_record(url, 8, "deep")  # too long ago
    backup_record(url, 1, "attributes")
    backup_record(url, 2, "deep", target="other")  # another target's
    assert deep_verify_reason(shop, url, NOW, asked=False) == reason
    backup_record(url, 6, "deep")
    assert deep_verify_reason(shop, url, NOW, asked=False) is None
    assert deep_verify_reason(shop, url, NOW, asked=True) == "a deep verify was asked for"


def test_deep_every_zero_makes_every_verify_deep(tmp_path: Path) -> None:
    shop = load_test_target(tmp_path, extra="    verify: {deep_every: 0s}\n")
    assert deep_verify_reason(shop, "sqlite:///unused", NOW, asked=False) == "verify.deep_every is 0s: every verify is deep"
