"""The object store drdrill keeps backups and binlogs in: one interface, an S3 and an in-memory implementation.

Every operation the drills use is declared here once. The streaming multipart upload (hashing on the
way, bounded memory, the object appearing only when every part is in) is written once too, on four
multipart primitives each implementation provides: ``drdrill.storage.s3`` on a boto3 client,
``drdrill.storage.memory`` in a dict for fast tests.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from drdrill.errors import DrdrillError
from drdrill.storage.client_encryption import ClientKey

PART_SIZE = 16 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024
PARTS_IN_FLIGHT = 4  # parts of a streaming upload sent at once (storage.parts_in_flight)


@dataclass(frozen=True)
class StoredObject:
    """One object as the store lists it."""

    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class UploadResult:
    """What was written: the object's key, byte size and sha256 (hex) of exactly those bytes, and the SHA-256
    checksum S3 keeps for it (``checksum_sha256``, base64: of the whole object when written in one request, of its
    ``parts`` parts' checksums when multipart; ``part_size``: each part's size but the last's) and how it is
    encrypted at rest (``encryption``: what S3 said, ``server_side`` and ``kms_key_id``, and drdrill's own
    client-side scheme when the bytes are its ciphertext; empty: neither)."""

    key: str
    size: int
    sha256: str
    checksum_sha256: str = ""
    parts: int = 0
    part_size: int = 0
    encryption: dict[str, str | int] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ObjectAttributes:
    """What the store says about an object without reading it: its size, its SHA-256 checksum (base64, "" when it
    keeps none, e.g. the object was written without one) and how many parts it was uploaded in (None: not said)."""

    size: int
    checksum_sha256: str
    parts: int | None


@dataclass(frozen=True)
class ObjectRetention:
    """An object's S3 Object Lock retention: its mode (``GOVERNANCE`` or ``COMPLIANCE``) and when it ends."""

    mode: str
    until: datetime

    def describe(self) -> str:
        """``locked (COMPLIANCE) until 2026-12-21 02:00:00 UTC``."""
        return f"locked ({self.mode}) until {self.until.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


class StorageError(DrdrillError):
    """The object store could not be read or written."""


class ObjectMissing(StorageError):
    """An object that was to be read does not exist."""


class ObjectStore(ABC):
    """A bucket: small objects read and written whole, large ones streamed in and out.

    Listings are in key order (S3's order: by the keys' UTF-8 bytes); a missing object reads as None
    (``get_bytes``, ``head``) or raises ObjectMissing (``iter_object``); deleting a missing key is no error. On a
    versioned bucket (every Object Lock bucket is one) a delete leaves a delete marker over the object's version, as
    S3 does; a locked version stays until its lock ends and a lifecycle rule removes it.
    """

    bucket: str
    parts_in_flight: int = PARTS_IN_FLIGHT
    client_key: ClientKey | None = None  # the target's client-side encryption key: backup data is stored encrypted

    @abstractmethod
    def describe(self) -> str:
        """Where the bucket is (``s3://bucket`` with the endpoint), for messages."""

    @abstractmethod
    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (sandbox and tests)."""

    @abstractmethod
    def check_access(self, prefix: str = "") -> None:
        """Raise a StorageError that says what to fix when the bucket (under ``prefix``) cannot be listed."""

    @abstractmethod
    def put_bytes(self, key: str, body: bytes) -> UploadResult:
        """Write a small object in one request."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes | None:
        """Read a small object whole; None when it does not exist."""

    @abstractmethod
    def iter_object(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream an object's bytes in chunks; ObjectMissing when it does not exist."""

    @abstractmethod
    def head(self, key: str) -> StoredObject | None:
        """Size and time of one object, or None when it is absent."""

    @abstractmethod
    def attributes(self, key: str) -> ObjectAttributes | None:
        """Size, SHA-256 checksum and part count of one object (no byte of it read), or None when it is absent."""

    @abstractmethod
    def retention(self, key: str) -> ObjectRetention | None:
        """The Object Lock retention of one object (None: not locked, or absent); a lock that has ended is returned too."""

    @abstractmethod
    def object_lock_enabled(self) -> bool:
        """Whether the bucket has S3 Object Lock enabled (it can only be enabled when the bucket is created)."""

    @abstractmethod
    def list_objects(self, prefix: str) -> list[StoredObject]:
        """Every object below a prefix, in key order."""

    @abstractmethod
    def list_folders(self, prefix: str) -> list[str]:
        """The immediate 'sub-folder' names below a prefix ending in '/', in order."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object (nothing happens when it is absent)."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object below a prefix; returns how many were deleted."""

    @abstractmethod
    def copy_in(self, source: ObjectStore, key: str, size: int, part_size: int) -> None:
        """Copy ``key`` of ``source`` (another bucket of the same kind) to the same key here without downloading it:
        in one request when ``part_size`` is 0, else in parts of ``part_size`` bytes (the original's), so the copy
        has the original's SHA-256 checksum. It is written as ``put_bytes`` and ``upload_stream`` write (e.g. locked)."""

    @abstractmethod
    def abort_stale_uploads(self, prefix: str, older_than: timedelta, now: datetime | None = None) -> int:
        """Abort unfinished multipart uploads below a prefix started before ``now - older_than``; returns how many."""

    # -- multipart primitives of upload_stream ------------------------------------------------------

    @abstractmethod
    def _start_upload(self, key: str) -> str:
        """Begin a multipart upload; its id."""

    @abstractmethod
    def _upload_part(self, key: str, upload_id: str, number: int, body: bytes, checksum: str) -> str:
        """Store one part (numbered from 1) with its SHA-256 ``checksum`` (base64), which the store checks; its ETag."""

    @abstractmethod
    def _complete_upload(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> dict[str, str | int]:
        """Make the object from its parts (``[{"PartNumber", "ETag", "ChecksumSHA256"}]`` in order); how the store
        says it encrypted it (``UploadResult.encryption``)."""

    @abstractmethod
    def _abort_upload(self, key: str, upload_id: str) -> None:
        """Discard an unfinished upload and its parts."""

    def upload_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        part_size: int = PART_SIZE,
        before_complete: Callable[[], None] | None = None,
    ) -> UploadResult:
        """Multipart-upload a stream of chunks, hashing as it goes, ``parts_in_flight`` parts at a time.

        Memory is bounded whatever the object's size: at most ``parts_in_flight`` parts being sent and one being
        filled (briefly one more while a part's chunks are joined); with 4 in flight and 16 MiB parts, about
        96 MiB. The stream is read on only when a slot is free, so a slow endpoint slows the tool, never fills
        memory. Each part goes with its SHA-256 checksum (S3 refuses a part that does not match it and keeps it);
        parts may arrive in any order and are completed in part order, so the result's composite checksum lets
        a later verify check the stored object by its attributes alone. The whole object's sha256 is taken on
        the stream, in order.

        The object only appears when every part is in and ``before_complete`` (e.g. "did the tool
        exit 0?") has not raised: a failed part (after the client's retries), a failure or a kill aborts or
        leaves an unfinished multipart upload, never a partial object.
        """
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 parts must be at least 5 MiB")
        upload_id = self._start_upload(key)
        digest = hashlib.sha256()
        size = number = 0
        parts: dict[int, dict[str, Any]] = {}
        failure: list[BaseException] = []
        slots = threading.Semaphore(self.parts_in_flight + 1)  # the parts in flight and the one being filled

        def send(part_number: int, body: bytes) -> None:
            try:
                if not failure:
                    checksum = sha256_checksum(body)
                    etag = self._upload_part(key, upload_id, part_number, body, checksum)
                    parts[part_number] = {"PartNumber": part_number, "ETag": etag, "ChecksumSHA256": checksum}
            except BaseException as exc:  # re-raised in the producing thread
                failure.append(exc)
            finally:
                slots.release()

        senders = ThreadPoolExecutor(max_workers=self.parts_in_flight, thread_name_prefix=f"s3-upload-{key}")
        try:
            stream = regroup_into_parts(chunks, part_size)
            while slots.acquire() and not failure and (body := next(stream, None)) is not None:
                digest.update(body)
                size += len(body)
                number += 1
                senders.submit(send, number, body)
                del body  # the sender holds it now; it is freed as soon as its part is in
            senders.shutdown(wait=True)
            if failure and isinstance(failure[0], StorageError):
                raise failure[0]
            if failure:
                raise StorageError(f"Upload of s3://{self.bucket}/{key} failed: {failure[0]}.",
                                   "Check the S3 endpoint and credentials, then re-run the task.") from failure[0]
            if before_complete is not None:
                before_complete()
            if number == 0:
                self._abort_upload(key, upload_id)
                return self.put_bytes(key, b"")
            in_order = [parts[part_number] for part_number in sorted(parts)]
            encryption = self._complete_upload(key, upload_id, in_order)
        except BaseException:
            failure.append(RuntimeError("aborted"))
            senders.shutdown(wait=True, cancel_futures=True)  # parts in flight end within the client's timeouts
            try:
                self._abort_upload(key, upload_id)
            except Exception:  # the original error is the one worth reporting
                pass
            raise
        return UploadResult(key=key, size=size, sha256=digest.hexdigest(),
                            checksum_sha256=composite_checksum([part["ChecksumSHA256"] for part in in_order]),
                            parts=len(in_order), part_size=part_size, encryption=dict(encryption))


def upload_result(key: str, body: bytes) -> UploadResult:
    """The UploadResult of writing ``body`` whole (in one request, with its SHA-256 checksum)."""
    digest = hashlib.sha256(body).digest()
    return UploadResult(key=key, size=len(body), sha256=digest.hex(), checksum_sha256=base64.b64encode(digest).decode())


def sha256_checksum(body: bytes) -> str:
    """S3's form of a SHA-256 checksum: the base64 of the digest."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def composite_checksum(part_checksums: list[str]) -> str:
    """The checksum S3 gives a multipart object: SHA-256 of its parts' digests in order, base64 (without the
    ``-<parts>`` suffix some responses add)."""
    joined = b"".join(base64.b64decode(checksum) for checksum in part_checksums)
    return base64.b64encode(hashlib.sha256(joined).digest()).decode()


def regroup_into_parts(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut a stream of arbitrary chunks into pieces of exactly ``size`` bytes (the last may be shorter).

    Chunks are collected and joined once per part, so each byte is copied once (not at all when a part is one
    chunk's worth), and nothing of a part is held once the next one is being collected.
    """
    pieces: list[bytes] = []
    held = 0
    for chunk in chunks:
        pieces.append(chunk)
        held += len(chunk)
        if held >= size:
            joined = b"".join(pieces)
            start = 0
            while held - start >= size:
                yield joined[start:start + size]
                start += size
            rest = joined[start:]
            del joined  # not kept alive while the next part is filled
            pieces, held = ([rest] if rest else []), len(rest)
    if held:
        yield b"".join(pieces)

