"""Retention never deletes what a restore still needs: the newest valid backup, a running backup, binlogs a kept backup needs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drdrill.storage.binlog.fork import BinlogFork
from drdrill.storage.catalog import CORRUPT, INCOMPLETE, INVALID, QUARANTINED, VALID, BackupEntry
from drdrill.storage.proof import FAILED_DRILL, PROVEN
from drdrill.storage.manifest import BinlogPosition, Manifest
from drdrill.storage.retention import binlogs_no_longer_needed, choose_deletions, forks_no_longer_needed, keep_held
from tests.helpers.manifests import sample_manifest
from tests.helpers.storage import NOW, SERVER, backup_id_at, index_entry


pytestmark = pytest.mark.unit


def entry(days_old: float, status: str = VALID) -> BackupEntry:
    return BackupEntry(backup_id_at(NOW - timedelta(days=days_old)), status, None, 1, "" if status == VALID else "why")


def test_retention_keeps_newest_n_or_younger_than_days() -> None:
    backups = [entry(0.1), entry(1), entry(2), entry(10), entry(20)]
    decision = choose_deletions(backups, now=NOW, keep_days=5, keep_backups=2)
    assert set(decision.keep) == {b.backup_id for b in backups[:3]}
    assert set(decision.delete) == {backups[3].backup_id, backups[4].backup_id}


def test_retention_never_deletes_the_newest_valid_backup_even_when_everything_is_old() -> None:
    backups = [entry(40, QUARANTINED), entry(50), entry(60)]
    decision = choose_deletions(backups, now=NOW, keep_days=7, keep_backups=None)
    assert decision.keep[backups[1].backup_id] == "newest valid backup"
    assert set(decision.delete) == {backups[0].backup_id, backups[2].backup_id}


def test_a_corrupt_manifest_is_never_deleted_and_never_counted_as_the_newest_valid_backup() -> None:
    corrupt, valid, older = entry(0.5, CORRUPT), entry(30), entry(40)
    old_corrupt = entry(90, CORRUPT)  # e.g. every manifest when the signing key is wrong: none may go
    decision = choose_deletions([corrupt, valid, older, old_corrupt], now=NOW, keep_days=7, keep_backups=1)
    assert decision.keep[valid.backup_id] == "newest valid backup"
    assert "never deleted" in decision.keep[corrupt.backup_id] and "never deleted" in decision.keep[old_corrupt.backup_id]
    assert set(decision.delete) == {older.backup_id}


def test_a_newer_broken_backup_does_not_take_the_newest_valid_ones_place() -> None:
    broken, valid = entry(0.5, INVALID), entry(30)
    decision = choose_deletions([broken, valid], now=NOW, keep_days=1, keep_backups=1)
    assert valid.backup_id in decision.keep and broken.backup_id in decision.keep  # broken: young, kept to inspect


def test_retention_leaves_a_running_backup_alone_and_clears_abandoned_ones() -> None:
    running, abandoned = entry(0.01, INCOMPLETE), entry(3, INCOMPLETE)
    decision = choose_deletions([running, abandoned, entry(1)], now=NOW, keep_days=7, keep_backups=1)
    assert running.backup_id in decision.keep
    assert abandoned.backup_id in decision.delete


def test_without_limits_only_the_newest_valid_backup_is_kept() -> None:
    backups = [entry(1), entry(2)]
    decision = choose_deletions(backups, now=NOW, keep_days=None, keep_backups=None)
    assert list(decision.keep) == [backups[0].backup_id] and list(decision.delete) == [backups[1].backup_id]


def test_the_newest_proven_backup_is_kept_when_older_than_keep_days_and_newer_ones_all_failed_their_drill() -> None:
    failed = [entry(1, FAILED_DRILL), entry(3, FAILED_DRILL), entry(5, FAILED_DRILL)]
    proven, older = entry(20, PROVEN), entry(30, PROVEN)
    decision = choose_deletions([*failed, proven, older], now=NOW, keep_days=7, keep_backups=2)
    assert proven.backup_id in decision.keep and older.backup_id in decision.keep  # no failed drill holds a slot
    assert decision.keep[proven.backup_id] == "newest valid backup"
    assert all(decision.keep[b.backup_id].startswith("failed_drill, kept for inspection") for b in failed)
    decision = choose_deletions([*failed, proven, older], now=NOW, keep_days=7, keep_backups=None)
    assert proven.backup_id in decision.keep and older.backup_id in decision.delete


def test_the_newest_proven_backup_is_kept_beside_newer_unproven_ones() -> None:
    unproven, proven, old_proven = entry(1), entry(10, PROVEN), entry(12, PROVEN)
    decision = choose_deletions([unproven, proven, old_proven], now=NOW, keep_days=2, keep_backups=1)
    assert decision.keep[unproven.backup_id] == "newest valid backup"
    assert decision.keep[proven.backup_id] == "newest proven backup"
    assert old_proven.backup_id in decision.delete


def test_old_failed_drill_backups_are_deleted_like_other_unusable_ones() -> None:
    failed, valid = entry(30, FAILED_DRILL), entry(1)
    decision = choose_deletions([valid, failed], now=NOW, keep_days=7, keep_backups=3)
    assert failed.backup_id in decision.delete and valid.backup_id in decision.keep


def at(file: str, key: str | None = SERVER) -> Manifest:
    return sample_manifest(consistent_point=BinlogPosition(file, 4, "0-1-9"), extra={"server_key": key} if key else {})


def test_binlog_retention_keeps_everything_a_retained_backup_needs() -> None:
    files = [index_entry(f"mysql-bin.00000{n}") for n in range(1, 7)] + [index_entry("mysql-bin.000001", "2-bbbbbbbb")]
    gone = binlogs_no_longer_needed(files, [at("mysql-bin.000005"), at("mysql-bin.000003")])
    assert [(e.server_key, e.file) for e in gone] == [(SERVER, "mysql-bin.000001"), (SERVER, "mysql-bin.000002")]


def test_binlog_retention_deletes_nothing_when_a_backup_does_not_name_its_server() -> None:
    files = [index_entry(f"mysql-bin.00000{n}") for n in range(1, 4)]
    assert binlogs_no_longer_needed(files, [at("mysql-bin.000003"), at("x.000001", None)]) == []


def test_binlog_retention_keeps_a_server_no_backup_was_taken_from() -> None:
    files = [index_entry("mysql-bin.000001", "2-bbbbbbbb"), index_entry("mysql-bin.000001"), index_entry("mysql-bin.000002")]
    gone = binlogs_no_longer_needed(files, [at("mysql-bin.000002")])
    assert [(e.server_key, e.file) for e in gone] == [(SERVER, "mysql-bin.000001")]


def test_binlog_retention_never_prunes_a_servers_archive_to_nothing_nor_a_leased_file() -> None:
    """The sandbox's S3 came back empty, the archive re-filled with files older than the next backup's start: the
    newest archived file stays (the archive still shows how far it reached); a file a PITR drill leased stays too."""
    files = [index_entry(f"mysql-bin.00000{n}") for n in range(1, 4)]
    gone = binlogs_no_longer_needed(files, [at("mysql-bin.000005")])
    assert [e.file for e in gone] == ["mysql-bin.000001", "mysql-bin.000002"]
    leased = binlogs_no_longer_needed(files, [at("mysql-bin.000005")], {SERVER: ["mysql-bin.000001"]})
    assert [e.file for e in leased] == ["mysql-bin.000002"]


def test_a_leased_backup_is_kept_whatever_its_rank() -> None:
    backups = [entry(0), entry(30)]
    old = backups[1].backup_id
    plain = choose_deletions(backups, now=NOW, keep_days=None, keep_backups=1)
    assert list(plain.delete) == [old]
    leased = choose_deletions(backups, now=NOW, keep_days=None, keep_backups=1, leased={old: "leased by run X"})
    assert leased.delete == {} and leased.keep[old].startswith("leased by run X; otherwise: valid, but outside")


def fork(last: str, first: str) -> BinlogFork:
    return BinlogFork(server_key=SERVER, last_file=last, first_file=first, old_end="0-1-14", resumed_from="0-1-12",
                      rolled_back=("0-1-13", "0-1-14"), forked_at=NOW, reason="fail-back")


def test_a_fork_record_goes_only_once_its_old_history_left_the_archive() -> None:
    records = [fork("mysql-bin.000002", "mysql-bin.000003"), fork("mysql-bin.000005", "mysql-bin.000006")]
    remaining = [index_entry(f"mysql-bin.00000{n}") for n in range(4, 8)]
    assert forks_no_longer_needed(records, remaining) == [records[0]]
    assert forks_no_longer_needed(records, [index_entry("mysql-bin.000002"), *remaining]) == []


def test_a_held_backup_moves_from_delete_to_keep_saying_what_holds_it_and_why_it_would_go() -> None:
    backups = [entry(1), entry(10), entry(20)]
    decision = choose_deletions(backups, now=NOW, keep_days=None, keep_backups=1)
    held = keep_held(decision, {backups[2].backup_id: "locked (COMPLIANCE) until 2026-12-11 12:00:00 UTC",
                                backups[0].backup_id: "not a deletion, left as it was"})
    assert set(held.delete) == {backups[1].backup_id}
    assert held.keep[backups[2].backup_id] == ("locked (COMPLIANCE) until 2026-12-11 12:00:00 UTC; otherwise: "
                                               + decision.delete[backups[2].backup_id])
    assert held.keep[backups[0].backup_id] == decision.keep[backups[0].backup_id]
    assert keep_held(decision, {}) == decision
