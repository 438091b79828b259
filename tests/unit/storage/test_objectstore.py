"""The object store contract: the in-memory store and the S3 store (against a real moto server) behave alike.

Every test here runs twice, once per implementation; the S3 run is an integration test (it starts moto).
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.objectstore import MIN_PART_SIZE, ObjectAttributes, ObjectMissing, ObjectStore, StorageError, \
    regroup_into_parts, sha256_checksum
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


def composite_of(data: bytes, part_size: int) -> str:
    """S3's composite SHA-256 of ``data`` uploaded in parts of ``part_size``."""
    parts = [data[start:start + part_size] for start in range(0, len(data), part_size)]
    return base64.b64encode(hashlib.sha256(b"".join(hashlib.sha256(part).digest() for part in parts)).digest()).decode()


def watch_parts(store: ObjectStore, before_send: Callable[[int], None]) -> dict[str, Any]:
    """Run ``before_send(number)`` as each part is sent through the store's own ``_upload_part``; what was seen:
    the most parts in flight at once and the order the parts were stored in."""
    seen: dict[str, Any] = {"in_flight": 0, "most_in_flight": 0, "stored": []}
    lock, send = threading.Lock(), store._upload_part

    def watched(key: str, upload_id: str, number: int, body: bytes, checksum: str) -> str:
        with lock:
            seen["in_flight"] += 1
            seen["most_in_flight"] = max(seen["most_in_flight"], seen["in_flight"])
        try:
            before_send(number)
            etag = send(key, upload_id, number, body, checksum)
            with lock:
                seen["stored"].append(number)
            return etag
        finally:
            with lock:
                seen["in_flight"] -= 1

    store._upload_part = watched  # type: ignore[method-assign]
    return seen


def test_parts_go_in_parallel_and_parts_stored_out_of_order_make_the_object_in_order(store: ObjectStore) -> None:
    data = random.Random(5).randbytes(4 * MIN_PART_SIZE + 4321)  # five parts, four in flight at once
    all_in_flight = threading.Barrier(4, timeout=20)

    def hold_part_one(number: int) -> None:  # parts 1-4 wait until all four are in flight; part 1 goes last
        if number <= 4:
            all_in_flight.wait()
        deadline = time.monotonic() + 20
        while number == 1 and not {2, 3, 4} <= set(seen["stored"]):
            assert time.monotonic() < deadline, "parts 2-4 were not stored while part 1 was in flight"
            time.sleep(0.005)

    seen = watch_parts(store, hold_part_one)
    result = store.upload_stream("parallel/object", [data[i:i + MiB] for i in range(0, len(data), MiB)],
                                 part_size=MIN_PART_SIZE)
    assert seen["most_in_flight"] == store.parts_in_flight == 4
    assert seen["stored"][0] != 1 and sorted(seen["stored"]) == [1, 2, 3, 4, 5]
    assert (result.size, result.sha256, result.parts) == (len(data), hashlib.sha256(data).hexdigest(), 5)
    assert result.checksum_sha256 == composite_of(data, MIN_PART_SIZE)
    assert store.get_bytes("parallel/object") == data
    assert store.attributes("parallel/object") in (ObjectAttributes(len(data), result.checksum_sha256, count)
                                                   for count in (5, None))


def test_a_part_the_store_refuses_aborts_the_upload_leaving_no_object(store: ObjectStore) -> None:
    read: list[int] = []

    def endless() -> Iterator[bytes]:  # far more than is read before the failure stops the upload
        for number in range(1, 41):
            read.append(number)
            yield bytes([number]) * MIN_PART_SIZE

    send = store._upload_part

    read_when_refused: list[int] = []

    def part_two_to_no_such_upload(key: str, upload_id: str, number: int, body: bytes, checksum: str) -> str:
        time.sleep(0.01)  # (moto 5.2 does not check a part's checksum, so the refusal is of the upload id)
        try:
            return send(key, "no-such-upload" if number == 2 else upload_id, number, body, checksum)
        except Exception:
            read_when_refused.append(len(read))
            raise

    store._upload_part = part_two_to_no_such_upload  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        store.upload_stream("refused/object", endless(), part_size=MIN_PART_SIZE)
    assert store.head("refused/object") is None
    assert store.abort_stale_uploads("refused/", timedelta(0), now=datetime.now(timezone.utc) + timedelta(days=1)) == 0
    assert len(read) <= read_when_refused[0] + 2 < 40  # the stream is not read on once a part failed


@pytest.mark.unit
def test_memory_stays_bounded_on_a_stream_many_times_the_bound() -> None:
    store = MemoryObjectStore("bounded")
    send = store._upload_part

    def slow_and_forgetful(key: str, upload_id: str, number: int, body: bytes, checksum: str) -> str:
        assert sha256_checksum(body) == checksum
        time.sleep(0.04)  # the endpoint is the bottleneck: the stream has to wait for free slots
        return send(key, upload_id, number, b"", sha256_checksum(b""))  # the store keeps nothing of it

    store._upload_part = slow_and_forgetful  # type: ignore[method-assign]
    chunk, count = random.Random(9).randbytes(MiB), 256
    tracemalloc.start()
    try:
        result = store.upload_stream("bounded/object", (chunk for _ in range(count)), part_size=MIN_PART_SIZE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)
    assert (result.size, result.sha256) == (count * MiB, expected.hexdigest())
    bound = (store.parts_in_flight + 2) * MIN_PART_SIZE  # in flight, one being filled, one while it is joined
    assert peak <= bound + MiB, f"peak {peak / MiB:.1f} MiB over {bound / MiB:.0f} MiB for a {count} MiB stream"


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
def test_a_copy_into_another_bucket_keeps_the_bytes_and_the_sha256_checksum_single_and_multipart(
        new_store: Callable[..., ObjectStore]) -> None:
    source, copy = new_store(), new_store()
    small = source.put_bytes("b/small", b"a small object")
    big = source.upload_stream("b/big", [random.Random(3).randbytes(2 * MIN_PART_SIZE + 10)], part_size=MIN_PART_SIZE)
    copy.copy_in(source, "b/small", small.size, 0)
    copy.copy_in(source, "b/big", big.size, big.part_size)
    assert copy.attributes("b/small") == ObjectAttributes(small.size, small.checksum_sha256, source.attributes("b/small").parts)
    assert copy.attributes("b/big") == source.attributes("b/big")
    assert copy.attributes("b/big").checksum_sha256 == big.checksum_sha256
    assert hashlib.sha256(b"".join(copy.iter_object("b/big"))).hexdigest() == big.sha256


def test_nothing_is_locked_and_the_bucket_has_no_object_lock_unless_created_with_it(store: ObjectStore) -> None:
    store.put_bytes("k", b"v")
    assert (store.retention("k"), store.retention("absent"), store.object_lock_enabled()) == (None, None, False)


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
