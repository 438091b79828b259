"""The continuous binlog streamer against real mariadbd servers and a real (moto) S3 server.

Every test ends with the archive checked the way PITR will use it: ``check_archive`` silent, the
archived files decoded and their GTIDs exactly the ones the server wrote (none missing, none twice),
and every S3 key written exactly once (the bucket is versioned). No object holds the password.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.servers.identity import read_identity
from drdrill.servers.mariadb import LocalMariaDB
from drdrill.storage.binlog.archive import archive_closed_binlogs, fetch_binlogs
from drdrill.storage.binlog.chain import check_archive
from drdrill.storage.binlog.index import indexed_files, list_archive, server_keys
from drdrill.storage.binlog.names import server_key
from drdrill.storage.binlog.streamer import CHILD_PID_FILE, StreamerStatus, run_streamer
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.binlog_helpers import LAYOUT, SCHEMA, assert_no_password_in, entry_of
from tests.helpers.drill_helpers import execute, query

STREAM_USER = "drdrill_stream"
STREAM_PASSWORD = f"St-{uuid.uuid4().hex}"
STREAM_GRANTS = ["RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR, SELECT ON *.*"]
# Fast polling and short backoff so that the module stays well under a minute.
FAST = {"poll_interval": 0.1, "recheck_interval": 0.3, "initial_backoff": 0.1, "max_backoff": 1.0,
        "stall_timeout": 2.0, "rotate_interval": None}  # tests rotate by hand unless they test rotation
GTID_EVENT = re.compile(rb"^#\d{6}\s.*?\tGTID (\d+-\d+-\d+)", re.MULTILINE)
STREAMER_LOG = "drdrill.storage.binlog.streamer"
FIRST_THREE = ["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"]


# -- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture
def store(moto_s3: Any) -> Iterator[ObjectStore]:
    """A fresh versioned bucket per test (so a second upload of a key shows); afterwards no password in it."""
    bucket = S3ObjectStore(moto_s3.client, f"stream-{uuid.uuid4().hex[:12]}")
    bucket.ensure_bucket()
    moto_s3.client.put_bucket_versioning(Bucket=bucket.bucket, VersioningConfiguration={"Status": "Enabled"})
    yield bucket
    assert_no_password_in(bucket, STREAM_PASSWORD)


def assert_written_once(store: ObjectStore) -> None:
    """No key of the archive was ever written twice (never an upload of a file already indexed)."""
    versions: Counter[str] = Counter()
    for page in store.client.get_paginator("list_object_versions").paginate(Bucket=store.bucket):
        versions.update(item["Key"] for item in page.get("Versions", []))
        assert not page.get("DeleteMarkers")
    assert versions and all(count == 1 for count in versions.values()), versions


def source_server(factory: Any, name: str = "source") -> tuple[LocalMariaDB, MySQLEndpoint, str]:
    """A fresh server with the streaming user (created outside the binlog) and the test schema; returns the
    server, its streaming endpoint and its server key."""
    server = factory(name)
    server.ensure_user(STREAM_USER, STREAM_PASSWORD, STREAM_GRANTS, binlog=False)
    source = server.endpoint(STREAM_USER, STREAM_PASSWORD)
    execute(server, *SCHEMA)
    return server, source, server_key(read_identity(source))


def closed_files(server: LocalMariaDB) -> list[str]:
    """The server's binlog files except the one being written."""
    return [str(row[0]) for row in query(server, "SHOW BINARY LOGS")][:-1]


def written_gtids(server: LocalMariaDB) -> list[str]:
    """Every GTID the server has written (one domain, from seq_no 1)."""
    position = str(query(server, "SELECT @@gtid_binlog_pos")[0][0])
    domain, server_id, last = (int(part) for part in position.split("-"))
    return [f"{domain}-{server_id}-{seq}" for seq in range(1, last + 1)]


def indexed(store: ObjectStore, key: str) -> list[str]:
    return sorted(indexed_files(store, LAYOUT, key))


def archived_gtids(store: ObjectStore, key: str, into: Path) -> list[str]:
    """Every GTID event in the archived files of one server, in archive order (fetched and verified first)."""
    gtids: list[str] = []
    files = [entry.file for entry in list_archive(store, LAYOUT, key)]
    for path in fetch_binlogs(store, LAYOUT, key, files, into):
        decoded = subprocess.run(["mariadb-binlog", "--no-defaults", str(path)], capture_output=True, check=True)
        gtids += [gtid.decode() for gtid in GTID_EVENT.findall(decoded.stdout)]
        path.unlink()
    return gtids


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until ``predicate`` is truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def flush_and_wait_archived(server: LocalMariaDB, store: ObjectStore, key: str, expected: list[str]) -> list[str]:
    """FLUSH BINARY LOGS; the closed files must be ``expected``; wait until all are in the index. Returns them."""
    execute(server, "FLUSH BINARY LOGS")
    closed = closed_files(server)
    assert closed == expected
    wait_for("every closed file in the index", lambda: indexed(store, key) == closed)
    return closed


def assert_archive_holds(store: ObjectStore, into: Path, servers: dict[str, LocalMariaDB]) -> None:
    """The archive as PITR reads it: ``check_archive`` silent, every GTID each server (by server key) wrote
    archived once and in order, and no key ever written twice."""
    assert check_archive(store, LAYOUT, deep=True) == []
    for key, server in servers.items():
        assert archived_gtids(store, key, into) == written_gtids(server), key
    assert_written_once(store)


def streamed_whole(status: StreamerStatus, server: LocalMariaDB, file: str) -> bool:
    """The streamer is on ``file`` and has all of it so far."""
    path = server.datadir / file
    return status.streaming_file == file and path.exists() and status.streaming_bytes == path.stat().st_size


@contextlib.contextmanager
def streaming(get_source: Callable[[], MySQLEndpoint], store: ObjectStore, spool: Path,
              **overrides: Any) -> Iterator[StreamerStatus]:
    """``run_streamer`` in a thread for the block; stopped (and proven stopped) at its end."""
    stop = threading.Event()
    status = StreamerStatus()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_streamer(get_source, store, LAYOUT, spool_dir=spool, stop=stop, status=status, **{**FAST, **overrides})
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="binlog-streamer", daemon=True)
    thread.start()
    try:
        yield status
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive(), "the streamer did not stop within 20 s"
    assert not errors, errors
    assert not list(spool.glob(".session-*")) and not list(spool.rglob("*.cnf")), "option file left behind"
    assert not (spool / CHILD_PID_FILE).exists()


class Writer:
    """Inserts rows as fast as the server takes them, riding out restarts; counts the commits it saw."""

    def __init__(self, server: LocalMariaDB, first_id: int = 1000) -> None:
        self.server = server
        self.next_id = first_id
        self.committed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="writer", daemon=True)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                with contextlib.closing(self.server.root_connect(connect_timeout=1)) as connection, \
                        connection.cursor() as cursor:
                    while not self.stop.is_set():
                        cursor.execute("INSERT INTO shop.orders VALUES (%s, 'w')", (self.next_id,))
                        self.next_id += 1
                        self.committed += 1
                        time.sleep(0.005)
            except Exception:  # the server is down: try again shortly
                self.next_id += 1
                time.sleep(0.05)


# -- tests -----------------------------------------------------------------------------------------


@pytest.mark.integration
def test_files_are_archived_as_the_server_moves_on_and_the_open_file_never_is(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=STREAMER_LOG)
    server, source, key = source_server(mariadb_factory)
    execute(server, "INSERT INTO shop.orders VALUES (1, 'first')")
    spool = tmp_path / "spool"

    with streaming(lambda: source, store, spool) as status:
        wait_for("mysql-bin.000001 streamed", lambda: streamed_whole(status, server, "mysql-bin.000001"))
        assert indexed(store, key) == []  # being written: not archived
        for number in (1, 2):
            file = f"mysql-bin.00000{number}"
            execute(server, f"INSERT INTO shop.orders VALUES ({number + 1}, 'row')")
            rotated = time.monotonic()
            execute(server, "FLUSH BINARY LOGS")
            wait_for(f"{file} in the index", lambda: file in indexed(store, key), timeout=5)
            assert time.monotonic() - rotated < 5
            entry = entry_of(store, key, file)
            on_server = (server.datadir / file).read_bytes()  # closed: the copy is the server's file byte for byte
            assert (entry.raw_size, entry.raw_sha256) == (len(on_server), hashlib.sha256(on_server).hexdigest())
        execute(server, "INSERT INTO shop.orders VALUES (9, 'open file')")
        wait_for("mysql-bin.000003 streamed", lambda: streamed_whole(status, server, "mysql-bin.000003"))
        assert indexed(store, key) == ["mysql-bin.000001", "mysql-bin.000002"]
        assert status.uploaded == [f"{key}/mysql-bin.000001", f"{key}/mysql-bin.000002"]

    # Stopped: the open file was not archived; its partial copy is all the spool holds.
    assert indexed(store, key) == ["mysql-bin.000001", "mysql-bin.000002"]
    assert sorted(path.name for path in (spool / key).iterdir()) == ["mysql-bin.000003"]
    # Same layout and index as the periodic archiver: it takes over exactly where the streamer stopped.
    result = archive_closed_binlogs(source, store, LAYOUT, work_dir=tmp_path / "work")
    assert result["uploaded"] == ["mysql-bin.000003"] and result["already_archived"] == 2
    assert result["findings"] == []
    assert_archive_holds(store, tmp_path / "fetch", {key: server})
    assert "archived" in caplog.text and STREAM_PASSWORD not in caplog.text


@pytest.mark.integration
def test_the_streamer_survives_a_primary_restart_under_writes_and_the_archive_holds_every_gtid(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=STREAMER_LOG)
    server, source, key = source_server(mariadb_factory)

    with streaming(lambda: source, store, tmp_path / "spool") as status, Writer(server) as writer:
        wait_for("writes", lambda: writer.committed >= 20)
        execute(server, "FLUSH BINARY LOGS")
        wait_for("mysql-bin.000001 in the index", lambda: "mysql-bin.000001" in indexed(store, key))
        before = writer.committed
        wait_for("writes into mysql-bin.000002", lambda: writer.committed >= before + 20)
        starts = status.starts
        server.stop()  # closes mysql-bin.000002 while the streamer is mid-file; mariadb-binlog exits
        server.start()  # opens mysql-bin.000003
        after = writer.committed
        wait_for("mariadb-binlog started again", lambda: status.starts > starts)
        wait_for("writes after the restart", lambda: writer.committed >= after + 20)
        writer.stop.set()
        writer.thread.join(10)
        closed = flush_and_wait_archived(server, store, key, FIRST_THREE)

    assert status.restarts >= 1 and "restarting" in caplog.text
    assert status.stall_restarts == 0  # a server that went away is not a hang
    for file in closed:  # the file open at the restart too, its stop event included
        on_server = (server.datadir / file).read_bytes()
        assert entry_of(store, key, file).raw_sha256 == hashlib.sha256(on_server).hexdigest(), file
    assert_archive_holds(store, tmp_path / "fetch", {key: server})
    assert len(written_gtids(server)) >= 2 + 60
    assert STREAM_PASSWORD not in caplog.text


@pytest.mark.integration
def test_a_hung_mariadb_binlog_is_killed_and_restarted_and_an_idle_source_is_not_a_hang(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=STREAMER_LOG)
    server, source, key = source_server(mariadb_factory)
    spool = tmp_path / "spool"

    with streaming(lambda: source, store, spool) as status:
        # Idle: nothing new on the source for well over stall_timeout is not a stall.
        wait_for("mysql-bin.000001 streamed", lambda: streamed_whole(status, server, "mysql-bin.000001"))
        time.sleep(3 * FAST["stall_timeout"])
        assert (status.stall_restarts, status.starts, status.restarts) == (0, 1, 0)

        with Writer(server) as writer:
            wait_for("writes", lambda: writer.committed >= 20)
            execute(server, "FLUSH BINARY LOGS")
            wait_for("mysql-bin.000001 in the index", lambda: indexed(store, key) == ["mysql-bin.000001"])
            # A silent network drop: the child neither gets data nor an error, and never exits by itself.
            # Counted from here: on a loaded machine a child may lag stall_timeout (2 s here, 30 s by default)
            # behind a busy source before this point, and that restart is not the hang under test.
            before = (status.stall_restarts, status.starts)
            hung = int((spool / CHILD_PID_FILE).read_text())
            os.kill(hung, signal.SIGSTOP)
            stalled = writer.committed
            wait_for("writes while hung", lambda: writer.committed >= stalled + 20)
            execute(server, "FLUSH BINARY LOGS")  # the source moves on to mysql-bin.000003 meanwhile
            wait_for("the hung mariadb-binlog killed", lambda: not Path(f"/proc/{hung}").exists(), timeout=15)
            wait_for("the stall counted", lambda: status.stall_restarts > before[0])
            wait_for("mariadb-binlog started again", lambda: status.starts > before[1])
            restarted = writer.committed
            wait_for("writes after the restart", lambda: writer.committed >= restarted + 20)
        flush_and_wait_archived(server, store, key, FIRST_THREE)
        settled = (status.stall_restarts, status.starts)
        time.sleep(3 * FAST["stall_timeout"])  # idle again: no further stall restart
        assert (status.stall_restarts, status.starts) == settled
        assert status.starts == status.stall_restarts + 1  # every restart was a stall, none an error exit

    assert f"killing pid {hung}" in caplog.text and "stalled" in caplog.text
    assert status.last_error is not None and "stalled" in status.last_error
    assert_archive_holds(store, tmp_path / "fetch", {key: server})
    assert len(written_gtids(server)) >= 2 + 60
    assert STREAM_PASSWORD not in caplog.text


@pytest.mark.integration
def test_a_stopped_or_killed_streamer_resumes_without_gaps_or_duplicates(
        mariadb_factory: Any, store: ObjectStore, moto_s3: Any, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    server, source, key = source_server(mariadb_factory)
    spool = tmp_path / "spool"

    # 1. A streamer thread stopped mid-file leaves the partial copy in the spool and archives nothing of it.
    with streaming(lambda: source, store, spool) as status:
        execute(server, "INSERT INTO shop.orders VALUES (1, 'a')", "FLUSH BINARY LOGS")
        wait_for("mysql-bin.000001 in the index", lambda: indexed(store, key) == ["mysql-bin.000001"])
        execute(server, "INSERT INTO shop.orders VALUES (2, 'b')")
        wait_for("mysql-bin.000002 streamed", lambda: streamed_whole(status, server, "mysql-bin.000002"))
    assert (spool / key / "mysql-bin.000002").exists() and indexed(store, key) == ["mysql-bin.000001"]
    execute(server, "INSERT INTO shop.orders VALUES (3, 'c')", "FLUSH BINARY LOGS",
            "INSERT INTO shop.orders VALUES (4, 'd')", "FLUSH BINARY LOGS")  # the server moves on meanwhile

    # 2. The streamer as a process (drdrill stream): resumes at the first file without an index entry; SIGTERM is clean.
    config = tmp_path / "drills.yaml"
    config.write_text(f"""
settings: {{history_url: "sqlite:///{tmp_path}/history.sqlite", work_dir: "{tmp_path}/work"}}
targets:
  - name: shop
    source_conn_id: stream_source
    databases: [shop]
    storage: {{conn_id: stream_s3, bucket: {store.bucket}, prefix: drills}}
    objectives: {{rto: 30m, rpo: 1m}}
    retention: {{keep_backups: 3}}
""")
    env = {**os.environ, "DRDRILL_CONFIG": str(config),
           "AIRFLOW_CONN_STREAM_SOURCE": json.dumps({"conn_type": "mysql", "host": "127.0.0.1",
                                                     "port": server.spec.port, "login": STREAM_USER,
                                                     "password": STREAM_PASSWORD}),
           "AIRFLOW_CONN_STREAM_S3": json.dumps(moto_s3.connection())}
    argv = [sys.executable, "-m", "drdrill.cli", "stream", "shop", "--spool-dir", str(spool), "--poll-interval", "0.1"]
    with open(tmp_path / "streamer-1.log", "wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for("the process to archive the files closed meanwhile", lambda: indexed(store, key) == FIRST_THREE,
                     timeout=30)
            child = int((spool / CHILD_PID_FILE).read_text())
            process.send_signal(signal.SIGTERM)
            assert process.wait(15) == 0
        finally:
            process.kill()
    log_text = (tmp_path / "streamer-1.log").read_text()
    assert "archived" in log_text and "stopping" in log_text and STREAM_PASSWORD not in log_text
    assert not Path(f"/proc/{child}").exists() and not (spool / CHILD_PID_FILE).exists()
    assert not list(spool.rglob("*.cnf")) and indexed(store, key) == FIRST_THREE

    # 3. A streamer process killed outright leaves its mariadb-binlog running (an orphan) ...
    execute(server, "INSERT INTO shop.orders VALUES (5, 'e')", "FLUSH BINARY LOGS")
    with open(tmp_path / "streamer-2.log", "wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for("mysql-bin.000004 in the index", lambda: "mysql-bin.000004" in indexed(store, key), timeout=30)
            execute(server, "INSERT INTO shop.orders VALUES (6, 'f')")
            time.sleep(0.3)  # let the insert reach the spool
        finally:
            process.kill()
            process.wait(10)
    orphan = int((spool / CHILD_PID_FILE).read_text())
    arguments = Path(f"/proc/{orphan}/cmdline").read_bytes()
    assert b"mariadb-binlog" in arguments and STREAM_PASSWORD.encode() not in arguments
    assert STREAM_PASSWORD.encode() not in Path(f"/proc/{orphan}/environ").read_bytes()
    execute(server, "INSERT INTO shop.orders VALUES (7, 'g')", "FLUSH BINARY LOGS")  # nobody archives this yet

    # ... which the next streamer ends before it resumes; the archive has every GTID exactly once.
    with caplog.at_level(logging.INFO, logger=STREAMER_LOG), streaming(lambda: source, store, spool):
        wait_for("the orphan ended", lambda: not Path(f"/proc/{orphan}").exists())
        execute(server, "INSERT INTO shop.orders VALUES (8, 'h')")
        closed = flush_and_wait_archived(server, store, key, [f"mysql-bin.00000{n}" for n in range(1, 7)])
    assert f"ending mariadb-binlog pid {orphan}" in caplog.text
    assert_archive_holds(store, tmp_path / "fetch", {key: server})

    # 4. A hole in the archive (mysql-bin.000002 never archived): the streamer starts there, archives it, and
    #    skips the later files it streams again because they have index entries (the index decides).
    for object_key in (LAYOUT.object_key(key, "mysql-bin.000002"), LAYOUT.index_key(key, "mysql-bin.000002")):
        for version in moto_s3.client.list_object_versions(Bucket=store.bucket, Prefix=object_key)["Versions"]:
            moto_s3.client.delete_object(Bucket=store.bucket, Key=object_key, VersionId=version["VersionId"])
    assert [finding.code for finding in check_archive(store, LAYOUT)] == ["BINLOG_GAP"]
    with streaming(lambda: source, store, spool) as status:
        wait_for("the hole filled", lambda: indexed(store, key) == closed)
        wait_for("the later files streamed again", lambda: streamed_whole(status, server, "mysql-bin.000007"))
    assert status.uploaded == [f"{key}/mysql-bin.000002"]
    assert status.already_archived == [f"{key}/mysql-bin.00000{n}" for n in range(3, 7)]
    assert check_archive(store, LAYOUT, deep=True) == []
    assert_written_once(store)


@pytest.mark.integration
def test_the_streamer_follows_a_new_primary_into_its_own_server_key(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    primary, primary_source, primary_key = source_server(mariadb_factory, "primary")
    standby, standby_source, standby_key = source_server(mariadb_factory, "standby")
    assert primary_key != standby_key
    execute(primary, "INSERT INTO shop.orders VALUES (1, 'primary')")
    current = [primary_source]

    with streaming(lambda: current[0], store, tmp_path / "spool") as status:
        execute(primary, "FLUSH BINARY LOGS")
        wait_for("primary's mysql-bin.000001", lambda: indexed(store, primary_key) == ["mysql-bin.000001"])
        execute(primary, "INSERT INTO shop.orders VALUES (2, 'in flight')")
        wait_for("primary's mysql-bin.000002 streamed", lambda: streamed_whole(status, primary, "mysql-bin.000002"))

        # Failover: the primary crashes and the source now resolves to the standby.
        primary.kill()
        current[0] = standby_source
        wait_for("the standby streamed", lambda: status.server_key == standby_key)
        execute(standby, "INSERT INTO shop.orders VALUES (10, 'standby')", "FLUSH BINARY LOGS")
        wait_for("standby's files under its own key",
                 lambda: indexed(store, standby_key) == ["mysql-bin.000001"])
        assert indexed(store, primary_key) == ["mysql-bin.000001"]  # the crashed primary's open file is not

        # Failback while the standby stays up: the periodic re-check switches without any child exiting.
        primary.start()
        current[0] = primary_source
        wait_for("the primary streamed again", lambda: status.server_key == primary_key)
        execute(primary, "INSERT INTO shop.orders VALUES (3, 'after failback')")
        flush_and_wait_archived(primary, store, primary_key, FIRST_THREE)

    assert server_keys(store, LAYOUT) == sorted([primary_key, standby_key])
    assert_archive_holds(store, tmp_path / "fetch", {primary_key: primary, standby_key: standby})


@pytest.mark.integration
def test_complete_files_a_previous_server_left_in_the_spool_are_archived_under_its_key(
        mariadb_factory: Any, store: ObjectStore, tmp_path: Path) -> None:
    old, _, old_key = source_server(mariadb_factory, "old")
    new, new_source, new_key = source_server(mariadb_factory, "new")
    execute(old, "FLUSH BINARY LOGS", "INSERT INTO shop.orders VALUES (1, 'a')", "FLUSH BINARY LOGS")
    # What a streamer of the old server left when its upload failed: two closed copies (one torn) and the open one.
    left = tmp_path / "spool" / old_key
    left.mkdir(parents=True)
    for file in ("mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"):
        (left / file).write_bytes((old.datadir / file).read_bytes())
    torn = (left / "mysql-bin.000002").read_bytes()
    (left / "mysql-bin.000002").write_bytes(torn[:-5])
    old.kill()

    with streaming(lambda: new_source, store, tmp_path / "spool") as status:
        wait_for("the new server streamed", lambda: streamed_whole(status, new, "mysql-bin.000001"))
    assert status.uploaded == [f"{old_key}/mysql-bin.000001"]  # whole and followed by another file
    assert indexed(store, old_key) == ["mysql-bin.000001"] and indexed(store, new_key) == []
    assert entry_of(store, old_key, "mysql-bin.000001").raw_sha256 == hashlib.sha256(
        (old.datadir / "mysql-bin.000001").read_bytes()).hexdigest()
    assert not left.exists()
    assert check_archive(store, LAYOUT, deep=True) == []


@pytest.mark.integration
def test_a_busy_source_is_archived_within_the_rotation_interval_and_an_idle_one_is_never_rotated(
    mariadb_factory: Any, store: ObjectStore, tmp_path: Path
) -> None:
    server, endpoint, key = source_server(mariadb_factory)
    with streaming(lambda: endpoint, store, tmp_path / "spool", rotate_interval=1.0) as status:
        assert wait_for("the streamer to start", lambda: status.server_key) == key
        execute(server, "INSERT INTO shop.orders VALUES (1, 'no flush from the test')")
        # nobody runs FLUSH BINARY LOGS: the streamer's rotation closes the file and it is archived
        wait_for("every written GTID archived",
                 lambda: set(written_gtids(server)) <= set(archived_gtids(store, key, tmp_path / "check")), timeout=45)
        assert status.rotations >= 1
        rotations, files = status.rotations, closed_files(server)
        time.sleep(3)  # idle: no write, so no rotation and no new (empty) file
        assert (status.rotations, closed_files(server)) == (rotations, files)
    assert check_archive(store, LAYOUT, deep=True) == []
    assert_no_password_in(store, STREAM_PASSWORD)
