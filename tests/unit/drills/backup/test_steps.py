"""``drdrill.drills.backup.steps`` on an in-memory store: verify, retention and the record's details.

Preflight, dump and manifest need a real source server: the integration tests drive them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.config import Target
from drdrill.drills.backup import steps
from drdrill.findings import DrillFailed
from drdrill.storage.binlog.index import list_archive
from drdrill.storage.catalog import list_backups
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import BINLOGS, LAYOUT, NOW, SERVER, put_backup, put_binlog
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def target(tmp_path: Path) -> Target:
    """Target shop, stored under the helpers' LAYOUT, retention keep_backups: 3."""
    return load_test_target(tmp_path, prefix="drills")


def test_verify_passes_a_whole_backup_and_quarantines_a_damaged_one(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    whole = put_backup(store, days_old=1)
    assert steps.verify({"backup_id": whole.backup_id}, shop, store)["backup_id"] == whole.backup_id

    damaged = put_backup(store, days_old=0.5)
    store.put_bytes(LAYOUT.object_key(damaged.backup_id, "dump.sql.zst"), b"flipped bytes")
    with pytest.raises(DrillFailed) as failed:
        steps.verify({"backup_id": damaged.backup_id}, shop, store)
    assert {finding.code for finding in failed.value.findings} == {"ARTEFACT_CORRUPT"}
    statuses = {entry.backup_id: entry.status for entry in list_backups(store, LAYOUT)}
    assert statuses == {whole.backup_id: "valid", damaged.backup_id: "quarantined"}


def test_retention_keeps_the_newest_three(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    made = [put_backup(store, days_old=days) for days in (5, 4, 3, 2, 1)]
    result = steps.apply_retention(shop, store, now=NOW)
    assert sorted(result["deleted"]) == [made[0].backup_id, made[1].backup_id]
    assert [entry.backup_id for entry in list_backups(store, LAYOUT)] == [m.backup_id for m in reversed(made[2:])]


def test_retention_never_deletes_the_only_valid_backup(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    only = put_backup(store, days_old=400)
    put_backup(store, days_old=1, manifest=False)  # a newer folder without a manifest is not a backup
    assert only.backup_id not in steps.apply_retention(shop, store, now=NOW)["deleted"]
    assert only.backup_id in [entry.backup_id for entry in list_backups(store, LAYOUT) if entry.is_valid]


def test_binlogs_older_than_every_retained_backup_are_pruned_not_the_ones_it_needs() -> None:
    store = MemoryObjectStore()
    put_binlog(store, "mysql-bin.000001", 1, 5, minutes=-3 * 24 * 60)
    put_binlog(store, "mysql-bin.000002", 6, 9, minutes=-10)  # the backup's point is mysql-bin.000002:600
    put_backup(store, days_old=1)  # an older manifest that does not name its server: nothing may go
    assert steps.prune_binlogs(store, LAYOUT) == []
    put_backup(store, days_old=0.5, extra={"server_key": SERVER})
    put_backup(store, days_old=1, extra={"server_key": SERVER})
    assert steps.prune_binlogs(store, LAYOUT) == [f"{SERVER}/mysql-bin.000001"]
    assert [entry.file for entry in list_archive(store, BINLOGS)] == ["mysql-bin.000002"]


def test_the_record_keeps_the_evidence_of_each_step() -> None:
    details = steps.backup_details({
        "preflight": {"engine": "mariadb-dump", "server_version": "10.11.19-MariaDB"},
        "dump_and_upload": {"raw_bytes": 10, "stored_bytes": 4, "mb_per_second": 1.5},
        "write_manifest": {"consistent_point": "mysql-bin.000002:600", "facts_point": "mysql-bin.000002:600",
                           "facts_match_consistent_point": True},
        "retention": {"kept": ["a"], "deleted": ["b"], "aborted_uploads": []},
    })
    assert details["engine"] == "mariadb-dump" and details["stored_bytes"] == 4
    assert details["retention"] == {"kept": ["a"], "deleted": ["b"]}
    assert steps.backup_details({})["engine"] is None
