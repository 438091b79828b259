"""S3 operations the drills need, on a boto3 client (in Airflow it comes from the amazon provider's S3Hook)."""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from drdrill.errors import DrdrillError

PART_SIZE = 16 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """One object as S3 lists it."""

    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class UploadResult:
    """What was written: the object's key, byte size and sha256 (hex) of exactly those bytes."""

    key: str
    size: int
    sha256: str


class StorageError(DrdrillError):
    """S3 could not be read or written."""


class ObjectStore:
    """A bucket on an S3 endpoint; every method is a thin, streaming use of the client."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def describe(self) -> str:
        """``s3://bucket`` with the endpoint, for messages."""
        return f"s3://{self.bucket} at {self.client.meta.endpoint_url}"

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (sandbox and tests)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def check_access(self) -> None:
        """Raise a StorageError that says what to fix when the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # botocore raises several unrelated types here
            raise StorageError(
                f"Cannot reach {self.describe()}: {exc}.",
                "Check the S3 connection (endpoint_url, credentials) and that the bucket exists.",
            ) from exc

    def upload_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        part_size: int = PART_SIZE,
        before_complete: Callable[[], None] | None = None,
    ) -> UploadResult:
        """Multipart-upload a stream of chunks, hashing as it goes; memory stays within about four parts.

        One part is being sent, at most one waits in the queue, one is being filled: with 16 MiB parts
        that is about 64 MiB whatever the object's size.

        The object only appears when every part is in and ``before_complete`` (e.g. "did the tool
        exit 0?") has not raised: a failure or a kill aborts or leaves an unfinished multipart
        upload, never a partial object.
        """
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 parts must be at least 5 MiB")
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        digest = hashlib.sha256()
        size = 0
        parts: list[dict[str, Any]] = []
        pending: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=1)
        failure: list[BaseException] = []

        def send_parts() -> None:
            while (item := pending.get()) is not None:
                if failure:
                    continue
                number, body = item
                try:
                    reply = self.client.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                    )
                    parts.append({"PartNumber": number, "ETag": reply["ETag"]})
                except BaseException as exc:  # re-raised in the producing thread
                    failure.append(exc)

        sender = threading.Thread(target=send_parts, name=f"s3-upload-{key}", daemon=True)
        sender.start()
        try:
            number = 0
            for body in _regroup(chunks, part_size):
                if failure:
                    break
                digest.update(body)
                size += len(body)
                number += 1
                pending.put((number, body))
            pending.put(None)
            sender.join()
            if failure:
                raise StorageError(f"Upload of s3://{self.bucket}/{key} failed: {failure[0]}.",
                                   "Check the S3 endpoint and credentials, then re-run the task.") from failure[0]
            if before_complete is not None:
                before_complete()
            if number == 0:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                self.client.put_object(Bucket=self.bucket, Key=key, Body=b"")
            else:
                parts.sort(key=lambda part: part["PartNumber"])
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            if sender.is_alive():
                failure.append(RuntimeError("aborted"))
                _drain_and_stop(pending)
                sender.join(timeout=60)
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except Exception:  # the original error is the one worth reporting
                pass
            raise
        return UploadResult(key=key, size=size, sha256=digest.hexdigest())

    def put_bytes(self, key: str, body: bytes) -> UploadResult:
        """Write a small object in one request."""
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
        return UploadResult(key=key, size=len(body), sha256=hashlib.sha256(body).hexdigest())

    def get_bytes(self, key: str) -> bytes | None:
        """Read a small object whole; None when it does not exist."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def iter_object(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream an object's bytes in chunks."""
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def head(self, key: str) -> StoredObject | None:
        """Size and time of one object, or None when it is absent."""
        try:
            reply = self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return StoredObject(key=key, size=reply["ContentLength"], last_modified=reply["LastModified"])

    def list_objects(self, prefix: str) -> list[StoredObject]:
        """Every object below a prefix."""
        found: list[StoredObject] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found.append(StoredObject(item["Key"], item["Size"], item["LastModified"]))
        return found

    def list_folders(self, prefix: str) -> list[str]:
        """The immediate 'sub-folder' names below a prefix ending in '/'."""
        names: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.append(common["Prefix"][len(prefix):].rstrip("/"))
        return names

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object below a prefix; returns how many were deleted."""
        keys = [obj.key for obj in self.list_objects(prefix)]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start:start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    def abort_stale_uploads(self, prefix: str, older_than: timedelta, now: datetime | None = None) -> int:
        """Abort unfinished multipart uploads left by killed runs; returns how many."""
        cutoff = (now or datetime.now(timezone.utc)) - older_than
        reply = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        aborted = 0
        for upload in reply.get("Uploads", []):
            if upload["Initiated"] < cutoff:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                aborted += 1
        return aborted


def _regroup(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut a stream of arbitrary chunks into pieces of exactly ``size`` bytes (the last may be shorter).

    Chunks are collected and joined once per part, so each byte is copied once.
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
            pieces, held = ([rest] if rest else []), len(rest)
    if held:
        yield b"".join(pieces)


def _drain_and_stop(pending: queue.Queue[tuple[int, bytes] | None]) -> None:
    """Empty the queue and post the stop sentinel so the sender thread ends."""
    while True:
        try:
            pending.get_nowait()
        except queue.Empty:
            break
    pending.put(None)
