"""The binlog archive against real mariadbd servers and a real (moto) S3 server: both directions of every finding."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.servers.gtid import format_gtid_position, parse_gtid_position
from drdrill.servers.identity import read_identity
from drdrill.servers.mariadb import LocalMariaDB
from drdrill.storage.binlog.archive import archive_closed_binlogs, fetch_binlogs
from drdrill.storage.binlog.chain import check_archive
from drdrill.storage.binlog.index import BinlogArchiveError, list_archive
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.binlog.names import server_key
from drdrill.storage.binlog.window import newest_archived_event
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.binlog_helpers import LAYOUT, SCHEMA, assert_no_password_in, entry_of
from tests.helpers.drill_helpers import execute, query

BACKUP_USER = "drdrill_backup"
BACKUP_PASSWORD = f"Bk-{uuid.uuid4().hex}"
BACKUP_GRANTS = ["RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR, SELECT ON *.*"]


# -- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_client(moto_s3: Any) -> Any:
    """A boto3 client on the module's moto S3 server (the shared ``moto_s3`` fixture)."""
    return moto_s3.client


@pytest.fixture
def store(s3_client: Any) -> Iterator[ObjectStore]:
    """A fresh bucket per test; afterwards no object in it may contain the backup user's password."""
    bucket = S3ObjectStore(s3_client, f"binlogs-{uuid.uuid4().hex[:12]}")
    bucket.ensure_bucket()
    yield bucket
    assert_no_password_in(bucket, BACKUP_PASSWORD)


def source_server(factory: Any, name: str = "source") -> tuple[LocalMariaDB, MySQLEndpoint]:
    """A fresh server with the backup user; the user is created outside the binlog, as a DBA should."""
    server = factory(name)
    server.ensure_user(BACKUP_USER, BACKUP_PASSWORD, BACKUP_GRANTS, binlog=False)
    return server, server.endpoint(BACKUP_USER, BACKUP_PASSWORD)


def gtid_pos(server: LocalMariaDB, sql: str = "SELECT @@gtid_binlog_pos") -> str | None:
    """A GTID position in the archive's normal form (domains in order)."""
    return format_gtid_position(parse_gtid_position(str(query(server, sql)[0][0] or "")))


def now_second() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def codes(findings: list[Any]) -> list[str]:
    return [finding.code if hasattr(finding, "code") else finding["code"] for finding in findings]


# -- tests -----------------------------------------------------------------------------------------


@pytest.mark.integration
def test_archive_records_gtid_ranges_and_times_and_reruns_upload_only_new_files(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    began = now_second()
    server, source = source_server(mariadb_factory)
    work = tmp_path / "work"
    execute(server, *SCHEMA, "INSERT INTO shop.orders VALUES (1, 'a'), (2, 'b'), (3, 'c')",
            "INSERT INTO shop.orders VALUES (4, 'd')")
    written = gtid_pos(server)
    sid = read_identity(source).server_id
    key = server_key(read_identity(source))

    first = archive_closed_binlogs(source, store, LAYOUT, work_dir=work)
    after_first = now_second()

    assert first["server_key"] == key
    assert first["uploaded"] == ["mysql-bin.000001"] and first["already_archived"] == 0
    assert first["findings"] == []
    entry = entry_of(store, key, "mysql-bin.000001")
    assert entry.first_gtid == f"0-{sid}-1" and entry.last_gtid == written == f"0-{sid}-4"
    assert entry.gtid_binlog_pos_start is None
    assert entry.gtid_binlog_pos_end == written == gtid_pos(server, "SELECT BINLOG_GTID_POS('mysql-bin.000002', 4)")
    assert entry.first_event_at and entry.last_event_at
    assert began <= entry.first_event_at <= entry.last_event_at <= after_first
    assert first["newest_event_at"] == entry.last_event_at.isoformat()
    # The object is the server's file byte for byte, and nothing is left in the work directory.
    server_file = (server.datadir / "mysql-bin.000001").read_bytes()
    assert entry.raw_size == len(server_file) and entry.raw_sha256 == hashlib.sha256(server_file).hexdigest()
    stored = store.get_bytes(LAYOUT.object_key(key, "mysql-bin.000001")) or b""
    assert (entry.size, entry.sha256) == (len(stored), hashlib.sha256(stored).hexdigest())
    assert subprocess.run(["zstd", "-dc"], input=stored, capture_output=True, check=True).stdout == server_file
    assert list(work.iterdir()) == []

    # Re-run without rotating: the only closed file is archived already, nothing is uploaded.
    again = archive_closed_binlogs(source, store, LAYOUT, work_dir=work, rotate=False)
    assert again["uploaded"] == [] and again["already_archived"] == 1 and again["findings"] == []

    # Rotate with no writes: the closed file holds no transaction; the GTID position carries through.
    idle = archive_closed_binlogs(source, store, LAYOUT, work_dir=work)
    assert idle["uploaded"] == ["mysql-bin.000002"]
    empty = entry_of(store, key, "mysql-bin.000002")
    assert (empty.first_gtid, empty.last_gtid) == (None, None)
    assert empty.gtid_binlog_pos_start == empty.gtid_binlog_pos_end == written

    # New writes, in two GTID domains: only the new file is uploaded, with both domains' ranges.
    before_writes = now_second()
    execute(server, "INSERT INTO shop.orders VALUES (5, 'e')", "SET SESSION gtid_domain_id = 2",
            "INSERT INTO shop.orders VALUES (6, 'f')", "INSERT INTO shop.orders VALUES (7, 'g')")
    newer = archive_closed_binlogs(source, store, LAYOUT, work_dir=work)
    after_writes = now_second()
    assert newer["uploaded"] == ["mysql-bin.000003"] and newer["already_archived"] == 2
    latest = entry_of(store, key, "mysql-bin.000003")
    assert latest.first_gtid == f"0-{sid}-5,2-{sid}-1"
    assert latest.last_gtid == f"0-{sid}-5,2-{sid}-2"
    assert latest.gtid_binlog_pos_start == written
    assert latest.gtid_binlog_pos_end == gtid_pos(server) == f"0-{sid}-5,2-{sid}-2"
    assert latest.last_event_at and before_writes <= latest.last_event_at <= after_writes

    assert [item.file for item in list_archive(store, LAYOUT)] == [f"mysql-bin.00000{n}" for n in (1, 2, 3)]
    assert list_archive(store, LAYOUT, key="no-such-server") == []
    assert check_archive(store, LAYOUT) == []
    assert check_archive(store, LAYOUT, deep=True) == []
    assert newest_archived_event(store, LAYOUT) == latest.last_event_at


@pytest.mark.integration
def test_check_archive_finds_missing_and_corrupt_files_and_is_silent_on_an_intact_archive(
        mariadb_factory: Any, store: ObjectStore, s3_client: Any, tmp_path: Path) -> None:
    server, source = source_server(mariadb_factory)
    work = tmp_path / "work"
    execute(server, *SCHEMA)
    for number in range(1, 5):
        execute(server, f"INSERT INTO shop.orders VALUES ({number}, 'row {number}')", "FLUSH BINARY LOGS")
    result = archive_closed_binlogs(source, store, LAYOUT, work_dir=work)
    key = result["server_key"]
    assert result["uploaded"] == [f"mysql-bin.00000{n}" for n in range(1, 6)]
    assert check_archive(store, LAYOUT) == [] and check_archive(store, LAYOUT, deep=True) == []
    assert check_archive(S3ObjectStore(s3_client, store.bucket), BinlogLayout("drills", "empty")) == []

    middle = "mysql-bin.000003"
    index_key, object_key = LAYOUT.index_key(key, middle), LAYOUT.object_key(key, middle)
    index_bytes, object_bytes = store.get_bytes(index_key), store.get_bytes(object_key)
    assert index_bytes and object_bytes
    before, after = entry_of(store, key, "mysql-bin.000002"), entry_of(store, key, "mysql-bin.000004")

    # A missing index entry: the file does not count, the chain has a hole with its time range.
    s3_client.delete_object(Bucket=store.bucket, Key=index_key)
    [gap] = check_archive(store, LAYOUT)
    assert gap.code == "BINLOG_GAP" and middle in gap.message
    assert gap.evidence["missing"] == [middle]
    assert before.last_event_at and after.first_event_at
    assert (gap.evidence["gap_from"], gap.evidence["gap_until"]) == (before.last_event_at.isoformat(),
                                                                      after.first_event_at.isoformat())
    with pytest.raises(BinlogArchiveError) as missing:
        fetch_binlogs(store, LAYOUT, key, [middle], tmp_path / "fetch")
    assert codes(missing.value.findings) == ["BINLOG_GAP"]
    # The source still has the file: the next run archives it again and the chain is whole.
    healed = archive_closed_binlogs(source, store, LAYOUT, work_dir=work, rotate=False)
    assert healed["uploaded"] == [middle] and healed["findings"] == []
    assert check_archive(store, LAYOUT) == []

    # A missing object behind an index entry.
    object_bytes = store.get_bytes(object_key)
    assert object_bytes
    s3_client.delete_object(Bucket=store.bucket, Key=object_key)
    [gap] = check_archive(store, LAYOUT)
    assert gap.code == "BINLOG_GAP" and middle in gap.message and gap.evidence["file"] == middle
    store.put_bytes(object_key, object_bytes)
    assert check_archive(store, LAYOUT, deep=True) == []

    # Same size, one byte changed: only the deep check (re-hash) sees it; a fetch refuses it.
    flipped = bytearray(object_bytes)
    flipped[len(flipped) // 2] ^= 0xFF
    store.put_bytes(object_key, bytes(flipped))
    assert check_archive(store, LAYOUT) == []
    [corrupt] = check_archive(store, LAYOUT, deep=True)
    assert corrupt.code == "BINLOG_CORRUPT" and middle in corrupt.message
    with pytest.raises(BinlogArchiveError) as refused:
        fetch_binlogs(store, LAYOUT, key, ["mysql-bin.000002", middle], tmp_path / "fetch")
    assert codes(refused.value.findings) == ["BINLOG_CORRUPT"]
    assert not (tmp_path / "fetch" / middle).exists()
    # A truncated object is seen without re-hashing.
    store.put_bytes(object_key, object_bytes[:-10])
    assert codes(check_archive(store, LAYOUT)) == ["BINLOG_CORRUPT"]
    store.put_bytes(object_key, object_bytes)

    # GTIDs that do not continue between consecutive files (e.g. a file from another history).
    entry = entry_of(store, key, middle)
    store.put_bytes(index_key, dataclasses.replace(entry, first_gtid="0-1-99").to_json())
    [jump] = check_archive(store, LAYOUT)
    assert jump.code == "BINLOG_GAP" and jump.evidence["domain"] == 0 and jump.evidence["next_seq_no"] == 99
    store.put_bytes(index_key, entry.to_json())

    # An unreadable index entry is a finding, never silently left out; without it the file leaves a hole.
    store.put_bytes(index_key, b"{not json")
    assert sorted(codes(check_archive(store, LAYOUT))) == ["BINLOG_CORRUPT", "BINLOG_GAP"]
    with pytest.raises(BinlogArchiveError):
        list_archive(store, LAYOUT)
    store.put_bytes(index_key, entry.to_json())
    assert check_archive(store, LAYOUT, deep=True) == []


@pytest.mark.integration
def test_binlogs_purged_on_the_source_before_archiving_are_reported_as_a_gap(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    server, source = source_server(mariadb_factory)
    work = tmp_path / "work"
    execute(server, *SCHEMA)
    first = archive_closed_binlogs(source, store, LAYOUT, work_dir=work)
    assert first["uploaded"] == ["mysql-bin.000001"] and first["findings"] == []
    for number in range(1, 4):
        execute(server, f"INSERT INTO shop.orders VALUES ({number}, 'x')", "FLUSH BINARY LOGS")
    execute(server, "PURGE BINARY LOGS TO 'mysql-bin.000004'")

    result = archive_closed_binlogs(source, store, LAYOUT, work_dir=work)

    [gap] = result["findings"]
    assert gap["code"] == "BINLOG_GAP"
    assert gap["evidence"]["missing"] == ["mysql-bin.000002", "mysql-bin.000003"]
    assert "mysql-bin.000002" in gap["message"] and "purged" in gap["message"]
    assert result["uploaded"] == ["mysql-bin.000004", "mysql-bin.000005"]
    [found] = check_archive(store, LAYOUT)
    assert found.code == "BINLOG_GAP" and found.evidence["missing"] == ["mysql-bin.000002", "mysql-bin.000003"]


@pytest.mark.integration
def test_fetched_binlogs_replayed_into_a_fresh_server_reproduce_the_rows(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    server, source = source_server(mariadb_factory)
    replay = mariadb_factory("replay")  # same initial state: an empty server; the schema comes from the binlog
    execute(server, *SCHEMA, "INSERT INTO shop.orders VALUES (1, 'before'), (2, 'before')",
            "UPDATE shop.orders SET note = 'before-updated' WHERE id = 2", "FLUSH BINARY LOGS",
            "INSERT INTO shop.orders VALUES (3, 'after')", "DELETE FROM shop.orders WHERE id = 1")
    result = archive_closed_binlogs(source, store, LAYOUT, work_dir=tmp_path / "work")
    key = result["server_key"]
    assert result["uploaded"] == ["mysql-bin.000001", "mysql-bin.000002"]

    def replay_files(files: list[str]) -> None:
        paths = fetch_binlogs(store, LAYOUT, key, files, tmp_path / "fetch")
        assert [path.name for path in paths] == files
        command = (f"mariadb-binlog --no-defaults {' '.join(map(str, paths))} "
                   f"| mariadb --defaults-file={replay.defaults_file}")
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]

    # The first segment only: rows before the rotation present, the later ones absent.
    replay_files(["mysql-bin.000001"])
    assert query(replay, "SELECT id, note FROM shop.orders ORDER BY id") == [(1, "before"), (2, "before-updated")]
    # The rest: the replay server now holds exactly the source's rows and GTID position.
    replay_files(["mysql-bin.000002"])
    rows = "SELECT id, note FROM shop.orders ORDER BY id"
    assert query(replay, rows) == query(server, rows) == [(2, "before-updated"), (3, "after")]
    assert gtid_pos(replay) == gtid_pos(server)


@pytest.mark.integration
def test_a_clear_text_password_in_an_archived_binlog_is_a_warning_that_never_shows_it(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    from drdrill.drills.archive import steps
    from drdrill.drills.layouts import binlog_layout
    from tests.helpers.drill_helpers import shop_target

    server, source = source_server(mariadb_factory)
    target = shop_target()
    layout = binlog_layout(target)
    hashed = "*E6CC90B878B948C35E92B003C792C46C58C4AF40"
    set_password = f"Set-{uuid.uuid4().hex}"  # SET PASSWORD ... = PASSWORD('...'): MariaDB logs the hash
    execute(server, f"CREATE USER 'hashed'@'%' IDENTIFIED BY PASSWORD '{hashed}'",
            f"ALTER USER 'hashed'@'%' IDENTIFIED VIA mysql_native_password USING '{hashed}'",
            f"SET PASSWORD FOR 'hashed'@'%' = PASSWORD('{set_password}')", "GRANT SELECT ON *.* TO 'hashed'@'%'")
    steps.archive(target, source, store, work_dir=tmp_path / "a")
    assert steps.check_chain(target, store)["findings"] == []

    clear = [f"Clear-{uuid.uuid4().hex}" for _ in range(3)]
    execute(server, f"CREATE USER 'clear'@'%' IDENTIFIED BY '{clear[0]}'",
            f"GRANT SELECT ON *.* TO 'clear'@'%' IDENTIFIED BY '{clear[1]}'",
            f"ALTER USER 'clear'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{clear[2]}')")
    archived = steps.archive(target, source, store, work_dir=tmp_path / "b")
    checked = steps.check_chain(target, store)  # a warning: the step passes, archiving went on

    [warning] = checked["findings"]
    file = archived["uploaded"][-1]
    assert warning["code"] == "SECRET_IN_BINLOG" and file in warning["message"]
    assert [item["statement"] for item in warning["evidence"]["statements"]] == ["CREATE USER", "GRANT", "ALTER USER"]
    assert all(item["position"] > 4 for item in warning["evidence"]["statements"])
    assert checked["files"] == len(list_archive(store, layout))
    raw = fetch_binlogs(store, layout, archived["server_key"], [file], tmp_path / "fetched")[0].read_bytes()
    assert all(password.encode() in raw for password in clear)  # the check is right: they are in the binlog
    shown = json.dumps([archived, checked], default=str) + store.get_bytes(layout.index_key(archived["server_key"], file)).decode()
    assert not [password for password in [*clear, set_password] if password in shown]
