"""The streaming mechanism without a server: what counts as a complete spooled file, supervision, one streamer per spool."""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.binlog.streamer import (
    BINLOG_MAGIC,
    StreamerError,
    StreamerStatus,
    _ends_on_event_boundary,
    _is_beyond,
    _spool_lock,
    _spooled_files,
    default_replica_server_id,
    run_streamer,
)
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import LAYOUT


pytestmark = pytest.mark.unit


def event(length: int) -> bytes:
    """A binlog event of ``length`` bytes: the 19-byte header carries the length at offset 9."""
    return struct.pack("<IBIII", 0, 2, 1, length, 0) + b"\0\0" + b"e" * (length - 19)


def test_a_file_that_ends_on_an_event_boundary_is_complete(tmp_path: Path) -> None:
    whole = tmp_path / "mysql-bin.000001"
    whole.write_bytes(BINLOG_MAGIC + event(40) + event(19))
    assert _ends_on_event_boundary(whole)


@pytest.mark.parametrize("body", [event(40)[:-1], event(40) + event(30)[:10], b"", event(18)])
def test_a_file_cut_inside_an_event_is_not_complete(tmp_path: Path, body: bytes) -> None:
    cut = tmp_path / "mysql-bin.000001"
    cut.write_bytes(BINLOG_MAGIC + body)
    assert _ends_on_event_boundary(cut) is (body == b"")  # the bare magic is a complete, empty file
    (tmp_path / "not-a-binlog").write_bytes(b"junk" + event(40))
    assert not _ends_on_event_boundary(tmp_path / "not-a-binlog")


def test_the_source_is_beyond_the_spool_only_when_it_wrote_more() -> None:
    assert _is_beyond(("mysql-bin.000003", 100), ("mysql-bin.000003", 50))
    assert _is_beyond(("mysql-bin.000004", 4), ("mysql-bin.000003", 900))
    assert not _is_beyond(("mysql-bin.000003", 50), ("mysql-bin.000003", 50))
    assert _is_beyond(("mysql-bin.000001", 4), None)


def test_spooled_files_are_binlogs_in_number_order(tmp_path: Path) -> None:
    for name in ("mysql-bin.000010", "mysql-bin.000009", "mysql-bin.index", "notes"):
        (tmp_path / name).write_bytes(b"")
    assert [path.name for path in _spooled_files(tmp_path)] == ["mysql-bin.000009", "mysql-bin.000010"]
    assert _spooled_files(tmp_path / "absent") == []


def test_the_replica_server_id_is_stable_per_spool(tmp_path: Path) -> None:
    first = default_replica_server_id(tmp_path / "a")
    assert first == default_replica_server_id(tmp_path / "a") != default_replica_server_id(tmp_path / "b")
    assert 4_000_000_000 <= first < 4_290_000_000


def test_a_source_that_cannot_be_reached_is_retried_until_stopped(tmp_path: Path) -> None:
    stop = threading.Event()
    calls: list[int] = []

    def unreachable() -> MySQLEndpoint:
        calls.append(1)
        if len(calls) == 3:
            stop.set()
        raise ConnectionError("source down")

    status = run_streamer(unreachable, MemoryObjectStore(), LAYOUT, spool_dir=tmp_path / "spool", stop=stop,
                          initial_backoff=0.001, max_backoff=0.001)
    assert len(calls) == 3 and status.restarts == 2 and status.last_error == "source down"
    assert status.uploaded == [] and (tmp_path / "spool").stat().st_mode & 0o777 == 0o700


def test_one_streamer_per_spool(tmp_path: Path) -> None:
    with _spool_lock(tmp_path):
        with pytest.raises(StreamerError, match="Another binlog streamer is using the spool"):
            run_streamer(lambda: MySQLEndpoint("127.0.0.1", 1, "u", "p"), MemoryObjectStore(), LAYOUT,
                         spool_dir=tmp_path, stop=threading.Event())


def test_the_status_is_json_ready() -> None:
    status = StreamerStatus(source="u@h:1", uploaded=["1-ab/mysql-bin.000001"])
    assert status.to_dict()["uploaded"] == ["1-ab/mysql-bin.000001"] and status.to_dict()["restarts"] == 0
