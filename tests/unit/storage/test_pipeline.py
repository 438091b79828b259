"""A tool's output streamed through zstd into the store: stored only when the tool exits 0, with its head and tail kept."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from drdrill.errors import ToolError, ToolStalled
from drdrill.storage import pipeline
from drdrill.storage.client_encryption import MAGIC, ClientKey, decrypt_stream
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.pipeline import (
    EDGE_BYTES,
    Tap,
    bytes_below,
    run_watched,
    stream_bytes_to_s3,
    stream_command_to_s3,
    zstd_argv,
    zstd_input_bytes,
)

pytestmark = pytest.mark.unit


def test_the_output_is_stored_compressed_and_described(store: MemoryObjectStore, tmp_path: Path) -> None:
    streamed = stream_command_to_s3(["printf", "-- head\\n%.0s-- Dump completed\\n", "1"], store, "k.zst",
                                    stderr_path=tmp_path / "tool.log", keep_edges=True)
    stored = store.get_bytes("k.zst") or b""
    raw = subprocess.run(["zstd", "-d", "-c"], input=stored, capture_output=True, check=True).stdout
    assert raw == b"-- head\n-- Dump completed\n"
    assert streamed.outcome.returncode == 0 and streamed.outcome.raw_bytes == len(raw)
    assert streamed.outcome.head == raw and streamed.outcome.tail.endswith(b"Dump completed\n")
    assert (streamed.upload.size, streamed.upload.key) == (len(stored), "k.zst")


def test_a_tool_that_fails_leaves_no_object_and_its_message_in_the_error(store: MemoryObjectStore,
                                                                         tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="exited with code 3: out of disk"):
        stream_command_to_s3(["sh", "-c", "echo partial; echo out of disk >&2; exit 3"], store, "k.zst",
                             stderr_path=tmp_path / "tool.log")
    assert store.head("k.zst") is None and store.uploads == {}


def test_the_tap_counts_everything_and_keeps_only_the_edges() -> None:
    tap = Tap()
    for chunk in (b"a" * EDGE_BYTES, b"b" * 10, b"c" * EDGE_BYTES):
        tap.feed(chunk)
    assert tap.count == 2 * EDGE_BYTES + 10
    assert bytes(tap.head) == b"a" * EDGE_BYTES and bytes(tap.tail) == b"c" * EDGE_BYTES


def test_an_observer_sees_every_byte_of_the_output_in_order_and_the_object_is_the_same(store: MemoryObjectStore,
                                                                                       tmp_path: Path) -> None:
    seen = bytearray()
    streamed = stream_command_to_s3(["seq", "1", "300000"], store, "k.zst", stderr_path=tmp_path / "tool.log",
                                    observe=seen.extend)
    raw = subprocess.run(["zstd", "-d", "-c"], input=store.get_bytes("k.zst"), capture_output=True, check=True).stdout
    assert bytes(seen) == raw == subprocess.run(["seq", "1", "300000"], capture_output=True, check=True).stdout
    assert streamed.outcome.raw_bytes == len(raw)


def test_zstd_writes_to_stdout_quietly_with_the_given_level_and_threads() -> None:
    assert zstd_argv(3, 2) == ["zstd", "-q", "-c", "-3", "-T2"]
    assert zstd_argv(3, 2, report_size=True) == ["zstd", "-vv", "--no-progress", "-c", "-3", "-T2"]


def test_without_edges_the_tool_writes_straight_into_zstd_which_counts_every_byte(store: MemoryObjectStore,
                                                                                   tmp_path: Path) -> None:
    size = 3 * 1024 * 1024 + 17
    streamed = stream_command_to_s3(["sh", "-c", f"yes drdrill | head -c {size}"], store, "k.zst",
                                    stderr_path=tmp_path / "tool.log")
    raw = subprocess.run(["zstd", "-d", "-c"], input=store.get_bytes("k.zst"), capture_output=True, check=True).stdout
    assert raw == (b"drdrill\n" * size)[:size] and streamed.outcome.raw_bytes == size
    assert (streamed.outcome.head, streamed.outcome.tail) == (b"", b"")  # no byte of it went through Python


def test_the_count_is_zstds_last_summary_and_no_summary_is_no_count() -> None:
    assert zstd_input_bytes("Using stdin for input \n/*stdin*\\  :  0.00%   (400000000 B =>  12556 B, /*stdout*\\) \n"
                            "/*stdin*\\  : Completed in 0.38 sec\n") == 400000000
    assert zstd_input_bytes("/*stdin*\\  :  0.00%   (  381 MiB =>  12.3 KiB, /*stdout*\\)") is None


def test_bytes_made_in_process_are_stored_compressed_with_their_hash(store: MemoryObjectStore) -> None:
    upload = stream_bytes_to_s3(b"CREATE ROLE r;\n", store, "b/accounts.sql.zst", compression_level=3, threads=1)
    stored = store.get_bytes("b/accounts.sql.zst") or b""
    assert subprocess.run(["zstd", "-d", "-c"], input=stored, capture_output=True, check=True).stdout == b"CREATE ROLE r;\n"
    assert (upload.size, upload.sha256) == (len(stored), hashlib.sha256(stored).hexdigest())


def test_bytes_that_cannot_be_compressed_leave_no_object_and_are_not_quoted(store: MemoryObjectStore,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "zstd_argv", lambda level, threads: ["zstd", "--no-such-flag"])
    with pytest.raises(ToolError) as failed:
        stream_bytes_to_s3(b"IDENTIFIED BY PASSWORD 'secret-hash'", store, "b/accounts.sql.zst")
    assert "accounts.sql.zst failed: zstd exited" in failed.value.problem and "secret-hash" not in str(failed.value)
    assert store.head("b/accounts.sql.zst") is None


def test_a_tool_that_writes_nothing_for_the_stall_timeout_is_stopped_with_nothing_stored() -> None:
    store = MemoryObjectStore()
    with pytest.raises(ToolStalled, match="produced nothing for"):
        stream_command_to_s3(["sh", "-c", "echo started; exec sleep 30"], store, "k", stderr_path=Path("/dev/null"),
                             stall_timeout=0.5)
    assert store.list_objects("") == []


def test_a_file_writing_tool_is_stopped_only_when_its_files_stop_growing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    steady = f"for i in 1 2 3 4 5 6; do echo row >> {out}/f; sleep 0.2; done"  # quiet for less than the bound
    assert run_watched(["sh", "-c", steady], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       progress=lambda: bytes_below(out), stall_timeout=0.6) == 0
    with pytest.raises(ToolStalled):
        run_watched(["sh", "-c", f"echo row >> {out}/g; exec sleep 30"], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, progress=lambda: bytes_below(out), stall_timeout=0.6)


@pytest.mark.unit
def test_with_a_client_key_the_compressed_stream_is_stored_encrypted_and_says_so(store: MemoryObjectStore,
                                                                                  tmp_path: Path) -> None:
    store.client_key = ClientKey(os.urandom(32), "Airflow connection 'backup_key'")
    streamed = stream_command_to_s3(["printf", "secret row\\n"], store, "b/dump.sql.zst", stderr_path=tmp_path / "t.log")
    upload = stream_bytes_to_s3(b"CREATE ROLE r;\n", store, "b/accounts.sql.zst")
    for result, plain in ((streamed.upload, b"secret row\n"), (upload, b"CREATE ROLE r;\n")):
        stored = store.get_bytes(result.key) or b""
        assert stored.startswith(MAGIC) and b"secret" not in stored
        assert (result.size, result.sha256) == (len(stored), hashlib.sha256(stored).hexdigest())  # of the ciphertext
        assert result.encryption == store.client_key.describe()
        compressed = b"".join(decrypt_stream([stored], store.client_key, result.key))
        assert subprocess.run(["zstd", "-d", "-c"], input=compressed, capture_output=True, check=True).stdout == plain
    assert streamed.outcome.raw_bytes == len(b"secret row\n")
