"""The object store contract: the in-memory store and the S3 store (against a real moto server) behave alike.

Every test here runs twice, once per implementation; the S3 run is an integration test (it starts moto).
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.objectstore import MIN_PART_SIZE, ObjectAttributes, ObjectMissing, ObjectStore, StorageError, regroup_into_parts
from drdrill.storage.s3 import S3ObjectStore

MiB = 1024 * 1024


@pytest.fixture(params=[pytest.param("memory", marks=pytest.mark.unit),
                        pytest.param("s3", marks=pytest.mark.integration)])
def new_store(request: pytest.FixtureRequest) -> Callable[..., ObjectStore]:
    """``new_store(exists=True)``: an empty bucket of the implementation under test (or one never created)."""
    def make(exists: bool = True) -> ObjectStore:
        if request.param == "memory":
            store: ObjectStore = MemoryObjectStore(f"contract-{uuid.uuid4().hex[:8]}", exists=exists)
        else:
            store = S3ObjectStore(request.getfixturevalue("moto_s3").client, f"contract-{uuid.uuid4().hex[:12]}")
        if exists:
            store.ensure_bucket()
        return store

    return make


@pytest.fixture
def store(new_store: Callable[..., ObjectStore]) -> ObjectStore:
    return new_store()


def keys_of(store: ObjectStore, prefix: str) -> list[str]:
    return [stored.key for stored in store.list_objects(prefix)]


def chunked(data: bytes, rng: random.Random) -> Iterator[bytes]:
    position = 0
    while position < len(data):
        step = rng.randint(0, 700_000)
        yield data[position:position + step]
        position += step


def test_small_objects_round_trip_with_their_size_and_sha256(store: ObjectStore) -> None:
    result = store.put_bytes("a/b.json", b'{"x": 1}')
    assert (result.key, result.size, result.sha256) == ("a/b.json", 8, hashlib.sha256(b'{"x": 1}').hexdigest())
    assert store.get_bytes("a/b.json") == b'{"x": 1}'
    head = store.head("a/b.json")
    assert head is not None and head.size == 8 and head.last_modified.tzinfo is not None
    store.put_bytes("a/b.json", b"newer")
    assert store.get_bytes("a/b.json") == b"newer" and b"".join(store.iter_object("a/b.json")) == b"newer"


def test_an_object_written_whole_keeps_its_sha256_checksum_in_its_attributes(store: ObjectStore) -> None:
    result = store.put_bytes("a/b.json", b'{"x": 1}')
    checksum = base64.b64encode(hashlib.sha256(b'{"x": 1}').digest()).decode()
    assert (result.checksum_sha256, result.parts) == (checksum, 0)
    assert store.attributes("a/b.json") == ObjectAttributes(8, checksum, None)
    assert store.attributes("a/missing") is None


def test_a_missing_key_reads_as_none_and_streams_as_object_missing(store: ObjectStore) -> None:
    assert store.get_bytes("nothing/here") is None and store.head("nothing/here") is None
    with pytest.raises(ObjectMissing):
        list(store.iter_object("nothing/here"))


def test_listing_is_by_prefix_in_key_order(store: ObjectStore) -> None:
    for key in ("p/b", "p/a/2", "p/a/10", "p/B", "p/\u00e4", "p/a/1", "pq/x", "other/p/z"):
        store.put_bytes(key, key.encode())
    assert keys_of(store, "p/") == ["p/B", "p/a/1", "p/a/10", "p/a/2", "p/b", "p/\u00e4"]
    assert keys_of(store, "p") == [*keys_of(store, "p/"), "pq/x"]  # a prefix, not a folder
    assert [stored.size for stored in store.list_objects("p/a/")] == [5, 6, 5]
    assert keys_of(store, "none/") == []


def test_folders_are_the_immediate_sub_prefixes_in_order(store: ObjectStore) -> None:
    for key in ("r/b/1", "r/a/x/deep", "r/a/y", "r/top", "r/c/", "s/d/1"):
        store.put_bytes(key, b".")
    assert store.list_folders("r/") == ["a", "b", "c"]
    assert store.list_folders("r/a/") == ["x"]
    assert store.list_folders("none/") == []


def test_delete_removes_one_key_and_a_missing_key_is_no_error(store: ObjectStore) -> None:
    store.put_bytes("d/1", b"1")
    store.put_bytes("d/2", b"2")
    store.delete("d/1")
    store.delete("d/never-there")
    assert keys_of(store, "d/") == ["d/2"]


def test_delete_prefix_counts_what_it_deleted_and_leaves_the_rest(store: ObjectStore) -> None:
    for key in ("x/1", "x/2/3", "xy/4", "y/5"):
        store.put_bytes(key, b".")
    assert store.delete_prefix("x/") == 2
    assert keys_of(store, "") == ["xy/4", "y/5"] and store.delete_prefix("x/") == 0


def test_a_multipart_upload_stores_exactly_the_stream_and_reports_its_size_and_sha256(store: ObjectStore) -> None:
    rng = random.Random(11)
    data = rng.randbytes(2 * MIN_PART_SIZE + 12_345)
    result = store.upload_stream("big/object", chunked(data, rng), part_size=MIN_PART_SIZE)
    assert (result.size, result.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert b"".join(store.iter_object("big/object", chunk_size=MiB)) == data
    head = store.head("big/object")
    assert head is not None and head.size == len(data)
    # each part went with its SHA-256; S3 keeps their composite (moto 5.2.5 does too, but says no part count)
    parts = [data[start:start + MIN_PART_SIZE] for start in range(0, len(data), MIN_PART_SIZE)]
    composite = base64.b64encode(hashlib.sha256(b"".join(hashlib.sha256(part).digest() for part in parts)).digest())
    assert (result.checksum_sha256, result.parts, result.part_size) == (composite.decode(), 3, MIN_PART_SIZE)
    assert store.attributes("big/object") in (ObjectAttributes(len(data), composite.decode(), count)
                                              for count in (3, None))
    assert store.abort_stale_uploads("big/", timedelta(0), now=datetime.now(timezone.utc) + timedelta(days=1)) == 0


def test_an_empty_stream_is_an_empty_object(store: ObjectStore) -> None:
    result = store.upload_stream("empty", iter([b"", b""]))
    assert (result.size, result.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert store.get_bytes("empty") == b""


def test_a_failed_check_before_completion_leaves_no_object_and_no_unfinished_upload(store: ObjectStore) -> None:
    def tool_failed() -> None:
        raise RuntimeError("the tool exited 1")

    with pytest.raises(RuntimeError, match="exited 1"):
        store.upload_stream("failed/object", iter([b"x" * (MIN_PART_SIZE + 1)]), part_size=MIN_PART_SIZE,
                            before_complete=tool_failed)
    assert store.head("failed/object") is None
    assert store.abort_stale_uploads("failed/", timedelta(0), now=datetime.now(timezone.utc) + timedelta(days=1)) == 0


def test_a_stream_that_breaks_leaves_no_object(store: ObjectStore) -> None:
    def breaking() -> Iterator[bytes]:
        yield b"y" * MIN_PART_SIZE
        raise OSError("pipe closed")

    with pytest.raises(OSError, match="pipe closed"):
        store.upload_stream("broken/object", breaking(), part_size=MIN_PART_SIZE)
    assert store.head("broken/object") is None


def test_parts_below_the_minimum_are_refused(store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="at least 5 MiB"):
        store.upload_stream("tiny", iter([b"x"]), part_size=MIN_PART_SIZE - 1)


def test_only_unfinished_uploads_older_than_the_limit_are_aborted(store: ObjectStore) -> None:
    store._start_upload("full/killed/dump.sql.zst")  # what a killed run leaves behind
    store._start_upload("elsewhere/killed")
    # moto stamps every upload "initiated 2010-11-10", so "too young" is asked with a clock from before that
    before_any_upload = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert store.abort_stale_uploads("full/", timedelta(hours=24), now=before_any_upload) == 0  # maybe still running
    now = datetime.now(timezone.utc)
    assert store.abort_stale_uploads("full/", timedelta(hours=24), now=now + timedelta(hours=25)) == 1
    assert store.abort_stale_uploads("full/", timedelta(hours=24), now=now + timedelta(hours=25)) == 0
    assert store.abort_stale_uploads("elsewhere/", timedelta(hours=24), now=now + timedelta(hours=25)) == 1


def test_a_bucket_that_does_not_exist_fails_the_access_check(new_store: Callable[..., ObjectStore]) -> None:
    new_store().check_access()
    missing = new_store(exists=False)
    with pytest.raises(StorageError, match="Cannot reach"):
        missing.check_access()
    missing.ensure_bucket()
    missing.ensure_bucket()
    missing.check_access()


@pytest.mark.unit
def test_regroup_cuts_exact_parts() -> None:
    assert list(regroup_into_parts([b"ab", b"cdefg", b"", b"h"], 3)) == [b"abc", b"def", b"gh"]


@pytest.mark.unit
def test_regroup_reassembles_any_chunking_exactly() -> None:
    rng = random.Random(3)
    data = rng.randbytes(50_000)
    for size in (7, 1000, 4096, 49_999, 50_000, 80_000):
        chunks: list[Any] = []
        position = 0
        while position < len(data):
            step = rng.randint(0, 3000)
            chunks.append(data[position:position + step])
            position += step
        parts = list(regroup_into_parts(chunks, size))
        assert b"".join(parts) == data
        assert all(len(part) == size for part in parts[:-1]) and 0 < len(parts[-1]) <= size
