"""A flashback fail-back resets the old primary's binlog: its archive keeps the whole history, a fork record
explains that one discontinuity, the chain check accepts exactly it, and PITR never replays the rolled-back rows.

Real primary + GTID replica (``make_pair``), a real moto S3, the drill's own flashback and PITR steps.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill.findings import DrillFailed
from drdrill.drills.backup import steps as backup
from drdrill.drills.failover import errant
from drdrill.drills.failover.path import stop_canary
from drdrill.drills.failover.self_managed import SelfManagedPath
from drdrill.drills.layouts import binlog_layout, layout_for
from drdrill.drills.pitr import steps as pitr
from drdrill.drills.restore import steps as restore
from drdrill.servers.scratch import run_key
from drdrill.errors import DrdrillError
from drdrill.servers.topology import rejoin_as_replica, wait_caught_up
from drdrill.servers.identity import read_identity
from drdrill.storage.binlog.archive import archive_closed_binlogs
from drdrill.storage.binlog.chain import check_archive
from drdrill.storage.binlog.fork import read_forks, write_fork
from drdrill.storage.binlog.index import ArchivedBinlog, list_archive, read_entry
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.binlog.names import server_key, split_binlog_name
from drdrill.storage.manifest import Manifest
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.s3 import S3ObjectStore
from drdrill.storage.verify import quarantine
from tests.helpers.drill_helpers import execute, query
from tests.helpers.failover_helpers import Pair, direct_run, make_pair, run_steps, scalar

pytestmark = pytest.mark.integration

BACKUP_GRANTS = ["SELECT, SHOW VIEW, TRIGGER, EVENT, RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, "
                 "REPLICATION SLAVE, REPLICATION CLIENT ON *.*"]
ITEMS = "SELECT id, note FROM drill.items WHERE id IN (1, 5000, 6000, 6001, 7000) ORDER BY id"


@pytest.fixture
def store(moto_s3: Any) -> Iterator[ObjectStore]:
    bucket = S3ObjectStore(moto_s3.client, f"fork-{uuid.uuid4().hex[:12]}")
    bucket.ensure_bucket()
    yield bucket


def lose_writes_and_promote(pair: Pair, before_promotion: Callable[[], object] = lambda: None) -> str:
    """Cut the replica off, commit errant writes on the primary (over two files), promote the replica.

    Returns the GTID position the new primary had: where the new history resumes.
    """
    wait_caught_up(pair.servers.replica, pair.servers.primary, 30)
    scalar(pair.replica, "STOP SLAVE IO_THREAD")
    execute(pair.primary, "INSERT INTO drill.items VALUES (5000, 'errant')", "FLUSH BINARY LOGS",
            "UPDATE drill.items SET note = 'errant-update' WHERE id = 1", "SET GLOBAL read_only = ON")
    before_promotion()
    execute(pair.replica, "STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF",
            "INSERT INTO drill.items VALUES (6000, 'new-primary')")
    return str(scalar(pair.replica, "SELECT @@gtid_slave_pos"))


def rejoin(pair: Pair, since: str) -> None:
    """The old primary replicates from the new one and catches up (as restore_topology does after a flashback)."""
    rejoin_as_replica(pair.servers.primary, pair.servers.replica, pair.servers.primary, since, timeout=30)
    execute(pair.replica, "INSERT INTO drill.items VALUES (6001, 'new-primary')")
    wait_caught_up(pair.servers.primary, pair.servers.replica, 30)


def entry(store: ObjectStore, layout: BinlogLayout, key: str, file: str) -> ArchivedBinlog:
    found = read_entry(store, layout, key, file)
    assert found is not None, file
    return found


def codes(findings: list[Any]) -> list[str]:
    return [finding.code for finding in findings]


def test_flashback_archives_the_whole_history_and_the_chain_check_accepts_exactly_its_fork(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    old = pair.servers.primary
    layout = binlog_layout(pair.target)
    key = server_key(read_identity(old))
    archive_closed_binlogs(old, store, layout, work_dir=tmp_path / "archive")
    since = lose_writes_and_promote(pair)
    old_end = str(scalar(pair.primary, "SELECT @@gtid_binlog_pos"))
    sid = since.rsplit("-", 1)[0]
    seq = int(since.rsplit("-", 1)[1])
    assert old_end == f"{sid}-{seq + 2}"  # the two errant transactions

    # An archive that lacks part of the history (an archived file differs from the server's): refused, untouched.
    first = entry(store, layout, key, "mysql-bin.000001")
    store.put_bytes(layout.index_key(key, first.file),
                    dataclasses.replace(first, raw_size=first.raw_size + 1).to_json())
    with pytest.raises(DrdrillError, match="does not hold all of"):
        errant.flashback(old, since, tmp_path, store=store, layout=layout)
    assert query(pair.primary, "SELECT COUNT(*) FROM drill.items WHERE id = 5000") == [(1,)]
    assert query(pair.primary, "SHOW BINARY LOGS")[0][0] == "mysql-bin.000001"
    assert read_forks(store, layout, key) == ({}, [])
    store.put_bytes(layout.index_key(key, first.file), first.to_json())

    assert errant.flashback(old, since, tmp_path, store=store, layout=layout) == []  # nothing to report on the archive
    rejoin(pair, since)
    archive_closed_binlogs(old, store, layout, work_dir=tmp_path / "archive")

    # The rollback happened and the old primary follows the new one.
    assert query(pair.primary, ITEMS) == [(1, "item-1"), (6000, "new-primary"), (6001, "new-primary")]
    # The fork record says where and why; the archive holds the old history up to the errant transactions.
    forks, unusable = read_forks(store, layout, key)
    assert unusable == [] and len(forks) == 1
    [fork] = forks.values()
    assert (fork.resumed_from, fork.old_end) == (since, old_end)
    assert fork.rolled_back == (f"{sid}-{seq + 1}", f"{sid}-{seq + 2}")
    assert split_binlog_name(fork.first_file)[1] == split_binlog_name(fork.last_file)[1] + 1
    assert "flashback" in fork.reason and fork.forked_at <= datetime.now(timezone.utc)
    assert entry(store, layout, key, fork.last_file).gtid_binlog_pos_end == old_end
    errant_files = [item.file for item in list_archive(store, layout, key) if item.last_gtid == old_end]
    assert len(errant_files) == 1 and errant_files[0] <= fork.last_file  # the errant UPDATE is archived
    new_history = entry(store, layout, key, fork.first_file)
    assert new_history.first_gtid == f"0-{pair.replica.spec.server_id}-{seq + 1}"  # continues from `since`
    assert query(pair.primary, "SHOW BINARY LOGS")[0][0] == fork.first_file  # numbers keep increasing, no hole

    # Healthy: the fork explains the discontinuity, nothing else is wrong.
    assert check_archive(store, layout) == [] and check_archive(store, layout, deep=True) == []

    # Without the record the same archive is the false alarm this fixes.
    fork_key = layout.fork_key(key, fork.first_file)
    store.client.delete_object(Bucket=store.bucket, Key=fork_key)
    [gap] = check_archive(store, layout)
    assert gap.code == "BINLOG_GAP" and (gap.evidence["after"], gap.evidence["before"]) == (fork.last_file,
                                                                                         fork.first_file)
    # A record that does not match the archive explains nothing: wrong resume position, wrong old end.
    for wrong in (dataclasses.replace(fork, resumed_from=f"{sid}-{seq - 1}"),
                  dataclasses.replace(fork, old_end=f"{sid}-{seq + 1}")):
        write_fork(store, layout, wrong)
        [gap] = check_archive(store, layout)
        assert gap.code == "BINLOG_GAP" and gap.evidence["fork"] == fork.first_file
        assert "does not match its fork record" in gap.message
    write_fork(store, layout, fork)
    assert check_archive(store, layout) == []
    # A real gap at the fork is still a gap: the new history skips a transaction, or continues the old one.
    for first_seq in (seq + 2, seq + 3):
        skipped = dataclasses.replace(new_history, first_gtid=f"0-{pair.replica.spec.server_id}-{first_seq}")
        store.put_bytes(layout.index_key(key, fork.first_file), skipped.to_json())
        [gap] = check_archive(store, layout)
        assert gap.code == "BINLOG_GAP" and gap.evidence["fork"] == fork.first_file
    store.put_bytes(layout.index_key(key, fork.first_file), new_history.to_json())
    # A gap elsewhere in the chain is still reported next to a good fork.
    earlier = entry(store, layout, key, "mysql-bin.000002")
    store.client.delete_object(Bucket=store.bucket, Key=layout.index_key(key, earlier.file))
    [gap] = check_archive(store, layout)
    assert gap.code == "BINLOG_GAP" and gap.evidence["missing"] == [earlier.file]
    store.put_bytes(layout.index_key(key, earlier.file), earlier.to_json())
    # An unreadable record is a finding, and leaves the discontinuity unexplained.
    store.put_bytes(fork_key, b"{not json")
    assert sorted(codes(check_archive(store, layout))) == ["BINLOG_CORRUPT", "BINLOG_GAP"]
    write_fork(store, layout, fork)
    assert check_archive(store, layout) == []


def test_the_failover_drills_fail_back_leaves_an_archive_the_chain_check_accepts(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    """Through the drill's step list (kill, promote, flashback, switch back), as the DAG runs it."""
    pair = make_pair(mariadb_factory, tmp_path)
    servers, target = pair.servers, pair.target
    layout = binlog_layout(target)
    archive_closed_binlogs(servers.primary, store, layout, work_dir=tmp_path / "archive")
    run, _ = direct_run(target, servers, tmp_path, "fork", store=store)

    def errant_write() -> None:
        scalar(pair.replica, "STOP SLAVE IO_THREAD")
        execute(pair.primary, "INSERT INTO drill.items VALUES (5000, 'errant')")

    try:
        back = run_steps(SelfManagedPath(run), before={"inject_fault": errant_write})["fail_back"]
    finally:
        stop_canary(run.directory)
    assert [finding["code"] for finding in back["findings"]] == ["ERRANT_TRANSACTIONS"] and back["roles"] == "original"
    execute(pair.primary, "INSERT INTO drill.items VALUES (6000, 'after-fail-back')")
    archive_closed_binlogs(servers.primary, store, layout, work_dir=tmp_path / "archive")
    assert check_archive(store, layout) == []
    forks, _ = read_forks(store, layout, server_key(read_identity(servers.primary)))
    assert len(forks) == 1 and len(next(iter(forks.values())).rolled_back) >= 1


def test_without_an_archive_of_the_old_primary_flashback_writes_nothing(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    layout = binlog_layout(pair.target)
    since = lose_writes_and_promote(pair)
    last = split_binlog_name(query(pair.primary, "SHOW BINARY LOGS")[-1][0])[1]
    errant.flashback(pair.servers.primary, since, tmp_path, store=store, layout=layout)
    rejoin(pair, since)
    assert store.list_objects("") == []
    assert query(pair.primary, "SHOW BINARY LOGS")[0][0] == f"mysql-bin.{last + 1:06d}"  # as before this change
    assert query(pair.primary, ITEMS) == [(1, "item-1"), (6000, "new-primary"), (6001, "new-primary")]


def take_backup(pair: Pair, store: ObjectStore, work_dir: Path) -> Manifest:
    """A verified mariadb-dump backup of the primary, through the backup drill's steps."""
    pair.primary.ensure_user("backup", "Backup-Secret-31", BACKUP_GRANTS, binlog=False)
    source = pair.primary.endpoint("backup", "Backup-Secret-31")
    plan = backup.preflight(pair.target, source, store, work_dir=work_dir, started_at=datetime.now(timezone.utc))
    dumped = backup.dump_and_upload(plan, pair.target, source, store, work_dir=work_dir)
    backup.write_manifest(plan, dumped, pair.target, source, store, work_dir=work_dir, signing_key=None)
    backup.verify(plan, pair.target, store, signing_key=None)
    time.sleep(1.1)  # backup ids sort by their start second
    return Manifest.from_json(store.get_bytes(layout_for(pair.target).manifest_key(plan["backup_id"])) or b"")


def recover(pair: Pair, store: ObjectStore, planned: dict[str, Any], work_dir: Path,
            name: str) -> list[tuple[Any, ...]]:
    """Restore the planned backup into a fresh scratch server, replay the planned binlogs, read the rows."""
    target = pair.target
    key = run_key(f"{name}-{uuid.uuid4().hex}")  # scratch servers may get a /tmp link named by it
    manifest = restore.read_manifest(store, target, planned["backup_id"], signing_key=None)
    scratch = None
    try:
        restore.fetch_and_verify(planned, target, store, work_dir=work_dir, key=key, signing_key=None)
        pitr.fetch_binlog_files(planned, target, store, work_dir=work_dir, key=key)
        scratch = restore.provision_scratch(planned, work_dir=work_dir, key=key, source=pair.servers.primary,
                                            replica=pair.servers.replica, scratch_endpoint=None, scratch_conn_id=None)
        local = restore.local_scratch(scratch)
        assert local is not None
        endpoint = local.endpoint()
        restore.restore(planned, scratch, manifest, endpoint=endpoint, work_dir=work_dir, key=key, parallel=1,
                        apply_catchup=False)
        replayed = pitr.replay(planned, manifest, endpoint=endpoint, work_dir=work_dir, key=key)
        assert replayed["segments"] == len(planned["segments"])
        return [tuple(row) for row in endpoint.fetch_all(ITEMS)]
    finally:
        restore.teardown(scratch, work_dir=work_dir, key=key, keep_scratch=False)


def test_pitr_across_a_fork_stops_the_old_history_where_the_new_one_resumed(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    old, target = pair.servers.primary, pair.target
    layout = binlog_layout(target)
    before = take_backup(pair, store, tmp_path / "backup")
    archive_closed_binlogs(old, store, layout, work_dir=tmp_path / "archive")
    inside: list[Manifest] = []  # a backup taken while the old primary held the errant transactions
    since = lose_writes_and_promote(pair, lambda: inside.append(take_backup(pair, store, tmp_path / "backup")))
    before_fork = pitr.whole_second(datetime.now(timezone.utc))  # after the errant commits, before the reset
    time.sleep(1.1)
    errant.flashback(old, since, tmp_path, store=store, layout=layout)
    rejoin(pair, since)
    now = datetime.now(timezone.utc)
    after_fork = pitr.whole_second(now) + timedelta(seconds=1)
    time.sleep((after_fork - now).total_seconds() + 0.1)
    execute(pair.replica, "INSERT INTO drill.items VALUES (7000, 'after-target')")
    wait_caught_up(old, pair.servers.replica, 30)
    archive_closed_binlogs(old, store, layout, work_dir=tmp_path / "archive")
    [fork] = read_forks(store, layout, server_key(read_identity(old)))[0].values()

    # The newest backup before the target holds the rolled-back transactions: refused, not replayed.
    with pytest.raises(DrillFailed) as refused:
        pitr.plan(target, store, target_time=after_fork, now=datetime.now(timezone.utc), signing_key=None)
    [finding] = refused.value.findings
    assert finding.code == "PITR_BASE_ROLLED_BACK" and finding.evidence["backup_id"] == inside[0].backup_id
    assert finding.evidence["resumed_from"] == since
    quarantine(store, layout_for(target), inside[0].backup_id, [finding])

    # From the backup before them: the old history stops where the new one resumed, then the new one follows.
    planned = pitr.plan(target, store, target_time=after_fork, now=datetime.now(timezone.utc), signing_key=None)
    assert planned["backup_id"] == before.backup_id
    assert [segment["stop_position"] for segment in planned["segments"]] == [since, None]
    assert (planned["segments"][0]["files"][-1], planned["segments"][1]["files"][0]) == (fork.last_file,
                                                                                        fork.first_file)
    assert recover(pair, store, planned, tmp_path / "work", "after") == [
        (1, "item-1"), (6000, "new-primary"), (6001, "new-primary")]
    # Replayed as one history the same files do not even decode (a GTID goes backwards at the fork).
    whole = {**planned, "segments": [{"files": planned["files"], "stop_position": None, "fork": None}]}
    with pytest.raises(DrillFailed, match="out of order GTID"):
        recover(pair, store, whole, tmp_path / "work", "after-whole")

    # A target between the errant commits and the reset: the chain ends in the old history, which still stops
    # where the new one resumed; replayed as it is, the rolled-back rows would silently come back.
    planned = pitr.plan(target, store, target_time=before_fork, now=datetime.now(timezone.utc), signing_key=None)
    assert [segment["stop_position"] for segment in planned["segments"]] == [since]
    assert planned["files"][-1] == fork.last_file
    assert recover(pair, store, planned, tmp_path / "work", "before") == [(1, "item-1")]
    whole = {**planned, "segments": [{"files": planned["files"], "stop_position": None, "fork": None}]}
    assert recover(pair, store, whole, tmp_path / "work", "before-whole") == [(1, "errant-update"), (5000, "errant")]


def test_flashback_reports_a_gap_the_old_primary_left_in_its_archive(mariadb_factory: Any, store: ObjectStore,
                                                                     tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    old = pair.servers.primary
    layout = binlog_layout(pair.target)
    archive_closed_binlogs(old, store, layout, work_dir=tmp_path / "archive")
    wait_caught_up(pair.servers.replica, old, 30)
    # Files purged before anyone archived them: the archive lacks them for good.
    execute(pair.primary, "INSERT INTO drill.items VALUES (4000, 'never archived')", "FLUSH BINARY LOGS",
            "FLUSH BINARY LOGS")
    newest = query(pair.primary, "SHOW BINARY LOGS")[-1][0]
    wait_caught_up(pair.servers.replica, old, 30)
    deadline = time.monotonic() + 20
    while query(pair.primary, "SHOW BINARY LOGS")[0][0] != newest:  # a file waits for its binlog checkpoint
        assert time.monotonic() < deadline, query(pair.primary, "SHOW BINARY LOGS")
        execute(pair.primary, f"PURGE BINARY LOGS TO '{newest}'")
        time.sleep(0.2)
    since = lose_writes_and_promote(pair)

    notes = errant.flashback(old, since, tmp_path, store=store, layout=layout)

    assert codes(notes) == ["BINLOG_GAP"]  # reported to the drill, which names it in the fail-back's actions
    assert query(pair.primary, "SELECT COUNT(*) FROM drill.items WHERE id = 5000") == [(0,)]  # still rolled back


def test_retention_removes_a_fork_record_with_the_old_history_and_only_then(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    old, layout = pair.servers.primary, binlog_layout(pair.target)
    key = server_key(read_identity(old))
    before = take_backup(pair, store, tmp_path / "backup")  # starts in the old history
    archive_closed_binlogs(old, store, layout, work_dir=tmp_path / "archive")
    since = lose_writes_and_promote(pair)
    errant.flashback(old, since, tmp_path, store=store, layout=layout)
    rejoin(pair, since)
    execute(pair.primary, "FLUSH BINARY LOGS")
    after = take_backup(pair, store, tmp_path / "backup")  # starts in the new history
    archive_closed_binlogs(old, store, layout, work_dir=tmp_path / "archive")
    [fork] = read_forks(store, layout, key)[0].values()
    assert split_binlog_name(after.consistent_point.file)[1] >= split_binlog_name(fork.first_file)[1]

    # A retained backup still starts before the fork: its files and the fork record stay.
    assert not any("/forks/" in name for name in backup.prune_binlogs(store, layout_for(pair.target), signing_key=None))
    assert list(read_forks(store, layout, key)[0]) == [fork.first_file]

    # Once no retained backup needs the old history, its files go and the fork record with them.
    quarantine(store, layout_for(pair.target), before.backup_id, [])
    deleted = backup.prune_binlogs(store, layout_for(pair.target), signing_key=None)
    assert f"{key}/forks/{fork.first_file}" in deleted and f"{key}/{fork.last_file}" in deleted
    assert read_forks(store, layout, key) == ({}, [])
    assert min(split_binlog_name(item.file)[1] for item in list_archive(store, layout, key)) \
        >= split_binlog_name(fork.first_file)[1]
    assert check_archive(store, layout) == []
