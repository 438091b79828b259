"""``drdrill.drills.archive.monitor``: the predicted RPO's findings, from what the store holds.

The archive lag itself compares with a live source's GTID position: the integration tests measure it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from drdrill.drills.archive import monitor
from drdrill.endpoints import MySQLEndpoint
from drdrill.ports import find_free_port
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import NOW, put_backup
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def codes(sample: dict) -> list[str]:
    return [finding["code"] for finding in sample["findings"]]


def test_no_source_and_no_backup_is_unavailable_and_stale_never_a_quiet_pass(tmp_path: Path) -> None:
    shop = load_test_target(tmp_path, prefix="drills")
    nobody = MySQLEndpoint(host="127.0.0.1", port=find_free_port(), user="backup", password="s3cret")
    sample = monitor.sample_rpo(shop, nobody, MemoryObjectStore(), now=NOW, signing_key=None)
    assert codes(sample) == ["TARGET_UNAVAILABLE", "BACKUP_STALE"]
    assert sample["archive_lag_seconds"] is None and sample["backup_age_seconds"] is None
    assert sample["rpo_objective_seconds"] == 15 * 60


def test_a_fresh_valid_backup_is_not_stale_an_old_one_is(tmp_path: Path) -> None:
    stale_after_a_day = load_test_target(tmp_path, prefix="drills", extra="    restore_drill: {max_backup_age: 1d}\n")
    nobody = MySQLEndpoint(host="127.0.0.1", port=find_free_port(), user="backup", password="")
    store = MemoryObjectStore()
    put_backup(store, days_old=0.5)
    fresh = monitor.sample_rpo(stale_after_a_day, nobody, store, now=NOW, signing_key=None)
    assert "BACKUP_STALE" not in codes(fresh)
    assert fresh["backup_age_seconds"] == pytest.approx(timedelta(days=0.5).total_seconds())
    old = monitor.sample_rpo(stale_after_a_day, nobody, store, now=NOW + timedelta(days=1), signing_key=None)
    assert "BACKUP_STALE" in codes(old)


def test_seconds_are_shown_as_a_duration() -> None:
    assert monitor.format_duration_seconds(90) == "1m30s"


def test_the_heartbeat_age_is_read_from_the_newest_row_and_none_without_rows(tmp_path: Path) -> None:
    from datetime import datetime
    from types import SimpleNamespace

    heartbeat = load_test_target(tmp_path, prefix="drills", extra="    heartbeat: {table: shop.heartbeat}\n").heartbeat
    assert heartbeat is not None
    beat = SimpleNamespace(fetch_all=lambda sql: [(datetime(2026, 1, 1, 12, 0, 0),)])
    assert monitor.heartbeat_age_seconds(beat, heartbeat, datetime.fromisoformat("2026-01-01T12:00:30+00:00")) == 30
    empty = SimpleNamespace(fetch_all=lambda sql: [(None,)])
    assert monitor.heartbeat_age_seconds(empty, heartbeat, NOW) is None
