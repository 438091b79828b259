"""The recoverable window runs from the oldest valid backup's completion to the newest archived event, or is None."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from drdrill.storage.binlog.index import BinlogArchiveError
from drdrill.storage.binlog.window import backup_ready_at, newest_archived_event, recoverable_window
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.manifests import sample_manifest
from tests.helpers.storage import BINLOGS, LAYOUT, NOW, SERVER, put_backup, put_binlog


pytestmark = pytest.mark.unit


def test_the_window_spans_the_oldest_valid_backup_to_the_newest_event(
        store: MemoryObjectStore) -> None:
    oldest, _ = put_backup(store, 2), put_backup(store, 1)
    put_backup(store, 3, manifest=False)  # incomplete: does not count
    put_binlog(store, "mysql-bin.000001", 1, 4)
    newest = put_binlog(store, "mysql-bin.000002", 5, 9, minutes=10)
    assert recoverable_window(store, LAYOUT, signing_key=None) == (backup_ready_at(oldest), newest.last_event_at)
    assert backup_ready_at(oldest) == NOW - timedelta(days=2) + timedelta(minutes=1)
    assert newest_archived_event(store, BINLOGS) == NOW + timedelta(minutes=10, seconds=30)


def test_no_valid_backup_or_no_archive_is_no_window(
        store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    assert recoverable_window(store, LAYOUT, signing_key=None) is None
    other = MemoryObjectStore()
    assert recoverable_window(other, LAYOUT, signing_key=None) is None and newest_archived_event(other, LAYOUT) is None
    put_backup(store, 1)
    assert recoverable_window(store, LAYOUT, signing_key=None) is not None


def test_an_archive_that_ends_before_the_backup_is_no_window(
        store: MemoryObjectStore) -> None:
    put_backup(store, -1)  # finished a day after the archive's newest event
    put_binlog(store, "mysql-bin.000001", 1, 4)
    assert recoverable_window(store, LAYOUT, signing_key=None) is None


def test_an_unreadable_index_makes_the_window_unknown_not_empty(
        store: MemoryObjectStore) -> None:
    put_backup(store, 1)
    put_binlog(store, "mysql-bin.000001", 1, 4)
    store.put_bytes(BINLOGS.index_key(SERVER, "mysql-bin.000002"), b"{")
    with pytest.raises(BinlogArchiveError):
        recoverable_window(store, LAYOUT, signing_key=None)


def test_a_backup_is_ready_when_it_finished_in_utc() -> None:
    ready = backup_ready_at(sample_manifest(finished_at="2026-11-21T10:00:00+02:00"))
    assert ready == datetime.fromisoformat("2026-11-21T08:00:00+00:00") and ready.utcoffset() == timedelta(0)
