"""What the memory store adds to the shared contract (test_objectstore.py): its clock, and refusing parts it never got."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.objectstore import StorageError, sha256_checksum

pytestmark = pytest.mark.unit
THEN = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_times_come_from_the_given_clock() -> None:
    store = MemoryObjectStore(clock=lambda: THEN)
    store.put_bytes("k", b"v")
    assert store.head("k").last_modified == THEN  # type: ignore[union-attr]
    assert store.list_objects("")[0].last_modified == THEN
    store._start_upload("left/behind")
    assert store.abort_stale_uploads("", older_than=THEN - THEN) == 0  # "now" is the clock's, not the wall's


def test_completing_with_parts_that_were_not_uploaded_is_refused() -> None:
    store = MemoryObjectStore()
    upload_id = store._start_upload("k")
    etag = store._upload_part("k", upload_id, 1, b"part one", sha256_checksum(b"part one"))
    with pytest.raises(StorageError, match="not the uploaded ones"):
        store._complete_upload("k", upload_id, [{"PartNumber": 1, "ETag": '"0"'}])
    with pytest.raises(StorageError, match="No unfinished upload"):
        store._upload_part("other-key", upload_id, 2, b"x", sha256_checksum(b"x"))
    with pytest.raises(StorageError, match="does not match its SHA-256 checksum"):
        store._upload_part("k", upload_id, 2, b"x", sha256_checksum(b"y"))
    store._complete_upload("k", upload_id, [{"PartNumber": 1, "ETag": etag}])
    assert store.get_bytes("k") == b"part one" and store.uploads == {}


def test_it_describes_itself_as_memory() -> None:
    assert MemoryObjectStore("b").describe() == "memory://b"
