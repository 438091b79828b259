"""The recoverable window as the restore record carries it, on the memory store."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.storage.binlog.window import backup_ready_at
from drdrill.storage.memory import MemoryObjectStore
from drdrill.drills.restore.window import window_details
from tests.helpers.storage import BINLOGS, SERVER, put_backup, put_binlog
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
NO_WINDOW = {"pitr_window_start": None, "pitr_window_end": None}


@pytest.fixture
def target(tmp_path: Path):
    """The target whose layout is the helpers' (prefix drills, target shop)."""
    return load_test_target(tmp_path, prefix="drills")


def test_the_record_gets_the_windows_start_and_end(target) -> None:
    store = MemoryObjectStore()
    oldest = put_backup(store, 2)
    newest = put_binlog(store, "mysql-bin.000001", 1, 4, minutes=10)
    assert newest.last_event_at is not None
    assert window_details(target, store, signing_key=None) == {"pitr_window_start": backup_ready_at(oldest).isoformat(),
                                             "pitr_window_end": newest.last_event_at.isoformat()}


def test_no_backup_or_no_archive_records_no_window(target) -> None:
    store = MemoryObjectStore()
    put_binlog(store, "mysql-bin.000001", 1, 4)
    assert window_details(target, store, signing_key=None) == NO_WINDOW
    assert window_details(target, MemoryObjectStore(), signing_key=None) == NO_WINDOW


def test_an_unreadable_archive_index_records_the_window_as_unknown_instead_of_failing(target) -> None:
    store = MemoryObjectStore()
    put_backup(store, 1)
    put_binlog(store, "mysql-bin.000001", 1, 4)
    store.put_bytes(BINLOGS.index_key(SERVER, "mysql-bin.000002"), b"{")
    assert window_details(target, store, signing_key=None) == NO_WINDOW
