"""``drdrill.storage.lease``: a drill run's lease on a backup, renewed, moved, released, and expired after its bound."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drdrill.storage.lease import (
    LEASE_BOUND,
    active_leases,
    lease_key,
    list_leases,
    read_lease,
    release_lease,
    remove_expired_leases,
    renew_lease,
    take_lease,
)
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import LAYOUT

pytestmark = pytest.mark.unit


def test_a_lease_is_renewed_and_moved_then_released() -> None:
    store = MemoryObjectStore()
    assert renew_lease(store, LAYOUT, "k1") is None  # a run that took no lease renews nothing
    taken = take_lease(store, LAYOUT, key="k1", run_id="run 1", drill="pitr", backup_id="A", binlogs={"s": ["f.000001"]},
                       now=datetime.now(timezone.utc) - timedelta(hours=1))
    assert taken.pid > 0 and taken.host and datetime.fromisoformat(taken.expires_at) - datetime.fromisoformat(taken.taken_at) == LEASE_BOUND
    moved = renew_lease(store, LAYOUT, "k1", backup_id="B")
    assert moved is not None and (moved.backup_id, moved.run_id, moved.binlogs) == ("B", "run 1", {"s": ["f.000001"]})
    assert moved.expires_at > taken.expires_at and read_lease(store, LAYOUT, "k1") == moved
    release_lease(store, LAYOUT, "k1")
    assert list_leases(store, LAYOUT) == []


def test_an_expired_lease_is_ignored_and_removed_a_live_one_is_not() -> None:
    store = MemoryObjectStore()
    now = datetime.now(timezone.utc)
    take_lease(store, LAYOUT, key="dead", run_id="dead run", drill="restore", backup_id="A", now=now - LEASE_BOUND)
    take_lease(store, LAYOUT, key="live", run_id="live run", drill="restore", backup_id="B", now=now)
    store.put_bytes(lease_key(LAYOUT, "garbled"), b"{not json")  # names nothing, so protects nothing
    assert [lease.run_id for lease in active_leases(store, LAYOUT)] == ["live run"]
    assert [lease.run_id for lease in remove_expired_leases(store, LAYOUT)] == ["dead run"]
    assert sorted(lease.run_id for lease in list_leases(store, LAYOUT)) == ["live run"]
