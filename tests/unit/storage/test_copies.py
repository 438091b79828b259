"""The second copy of a backup (on the in-memory store; tests/integration/test_object_lock.py copies on moto)."""

from __future__ import annotations

import pytest

from drdrill.storage.copies import check_copy, copy_backup, manifest_entry
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import LAYOUT, put_backup

pytestmark = pytest.mark.unit


def test_every_object_and_the_manifest_are_copied_once_and_the_copy_checks_out() -> None:
    store, copy = MemoryObjectStore("primary"), MemoryObjectStore("copy")
    backup = put_backup(store, days_old=1)
    assert copy_backup(store, copy, LAYOUT, backup) == []
    assert sorted(stored.key for stored in copy.list_objects(LAYOUT.backup_root(backup.backup_id))) == \
        sorted(stored.key for stored in store.list_objects(LAYOUT.backup_root(backup.backup_id)))
    assert copy.get_bytes(LAYOUT.manifest_key(backup.backup_id)) == store.get_bytes(LAYOUT.manifest_key(backup.backup_id))
    stamps = {key: at for key, (_, at) in copy.objects.items()}
    assert copy_backup(store, copy, LAYOUT, backup) == []  # a re-run copies nothing already there
    assert {key: at for key, (_, at) in copy.objects.items()} == stamps


def test_a_copy_that_differs_is_a_mismatch_never_overwritten_and_one_deleted_since_is_missing() -> None:
    store, copy = MemoryObjectStore("primary"), MemoryObjectStore("copy")
    backup = put_backup(store, days_old=1)
    data = LAYOUT.object_key(backup.backup_id, "dump.sql.zst")
    copy.put_bytes(data, b"something else")
    (finding,) = copy_backup(store, copy, LAYOUT, backup)
    assert finding.code == "COPY_MISMATCH" and f"s3://copy/{data} was changed" in finding.message
    assert copy.get_bytes(data) == b"something else"
    assert copy.get_bytes(LAYOUT.manifest_key(backup.backup_id)) is None  # no manifest over a copy that differs

    copy.delete(data)  # the stray object removed, as the fix says: a re-run completes the copy
    assert copy_backup(store, copy, LAYOUT, backup) == []
    copy.delete(data)  # deleted since
    entries = [*backup.all_objects(), manifest_entry(store, LAYOUT, backup.backup_id)]
    (finding,) = check_copy(copy, LAYOUT, backup.backup_id, entries)
    assert (finding.code, finding.evidence) == ("COPY_MISSING", {"object": "dump.sql.zst"})
    assert "s3://copy/" in finding.message and "re-run the backup drill" in finding.fix
