"""The object store in memory: what S3 does, kept in a dict, so storage logic gets fast unit tests.

It keeps S3's semantics where drdrill relies on them: listings in key order, folders by ``/``, a missing
key reading as None (or ObjectMissing when streamed), multipart uploads that show nothing until they
complete and can be left unfinished (``abort_stale_uploads`` finds them), deletes of missing keys
ignored. ``tests/unit/storage/test_objectstore.py`` runs the same contract against it and a moto server.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from drdrill.storage.objectstore import ObjectAttributes, ObjectMissing, ObjectRetention, ObjectStore, StorageError, \
    StoredObject, UploadResult, composite_checksum, sha256_checksum, upload_result


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _etag(body: bytes) -> str:
    """A part's ETag as S3 gives it: the quoted md5 of its bytes."""
    return f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'


@dataclass
class _Upload:
    key: str
    initiated: datetime
    parts: dict[int, bytes] = field(default_factory=dict)
    checksums: dict[int, str] = field(default_factory=dict)


class MemoryObjectStore(ObjectStore):
    """A bucket held in memory; thread-safe (upload_stream sends parts from a thread)."""

    def __init__(self, bucket: str = "memory", *, exists: bool = True,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.bucket = bucket
        self.exists = exists
        self.clock = clock
        self.objects: dict[str, tuple[bytes, datetime]] = {}
        self.checksums: dict[str, tuple[str, int | None]] = {}  # key: (SHA-256 checksum, parts), as S3 keeps them
        self.uploads: dict[str, _Upload] = {}
        self.object_lock = False  # the bucket has Object Lock enabled
        self.retentions: dict[str, ObjectRetention] = {}  # key: its lock, as a test sets it
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"memory://{self.bucket}"

    def ensure_bucket(self) -> None:
        self.exists = True

    def check_access(self, prefix: str = "") -> None:
        if not self.exists:
            raise StorageError(f"Cannot reach {self.describe()}: the bucket does not exist.",
                               "Check the S3 connection (endpoint_url, credentials) and that the bucket exists.")

    def put_bytes(self, key: str, body: bytes) -> UploadResult:
        result = upload_result(key, body)
        with self._lock:
            self.objects[key] = (bytes(body), self.clock())
            self.checksums[key] = (result.checksum_sha256, None)
        return result

    def get_bytes(self, key: str) -> bytes | None:
        with self._lock:
            stored = self.objects.get(key)
        return stored[0] if stored else None

    def iter_object(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        body = self.get_bytes(key)
        if body is None:
            raise ObjectMissing(f"{self.describe()}/{key} does not exist.",
                                "Check the key; list the prefix to see what is stored.")
        for start in range(0, len(body), chunk_size):
            yield body[start:start + chunk_size]

    def head(self, key: str) -> StoredObject | None:
        with self._lock:
            stored = self.objects.get(key)
        return StoredObject(key, len(stored[0]), stored[1]) if stored else None

    def attributes(self, key: str) -> ObjectAttributes | None:
        with self._lock:
            stored, (checksum, parts) = self.objects.get(key), self.checksums.get(key, ("", None))
        return ObjectAttributes(len(stored[0]), checksum, parts) if stored else None

    def retention(self, key: str) -> ObjectRetention | None:
        with self._lock:
            return self.retentions.get(key) if key in self.objects else None

    def object_lock_enabled(self) -> bool:
        return self.object_lock

    def list_objects(self, prefix: str) -> list[StoredObject]:
        with self._lock:
            listed = [StoredObject(key, len(body), at) for key, (body, at) in self.objects.items()
                      if key.startswith(prefix)]
        return sorted(listed, key=lambda stored: stored.key.encode())

    def list_folders(self, prefix: str) -> list[str]:
        common: set[str] = set()
        for stored in self.list_objects(prefix):
            rest = stored.key[len(prefix):]
            if "/" in rest:
                common.add(prefix + rest[:rest.index("/") + 1])
        return [folder[len(prefix):].rstrip("/") for folder in sorted(common, key=str.encode)]

    def delete(self, key: str) -> None:
        with self._lock:
            self.objects.pop(key, None)
            self.checksums.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            keys = [key for key in self.objects if key.startswith(prefix)]
            for key in keys:
                del self.objects[key]
                self.checksums.pop(key, None)
        return len(keys)

    def copy_in(self, source: ObjectStore, key: str, size: int, part_size: int) -> None:
        if not isinstance(source, MemoryObjectStore):
            raise TypeError("a memory store copies from another memory store only")
        with source._lock:
            stored, checksum = source.objects.get(key), source.checksums.get(key, ("", None))
        if stored is None:
            raise ObjectMissing(f"{source.describe()}/{key} does not exist.", "Check the key.")
        with self._lock:
            self.objects[key], self.checksums[key] = (stored[0], self.clock()), checksum

    def abort_stale_uploads(self, prefix: str, older_than: timedelta, now: datetime | None = None) -> int:
        cutoff = (now or self.clock()) - older_than
        with self._lock:
            stale = [upload_id for upload_id, upload in self.uploads.items()
                     if upload.key.startswith(prefix) and upload.initiated < cutoff]
            for upload_id in stale:
                del self.uploads[upload_id]
        return len(stale)

    def _start_upload(self, key: str) -> str:
        upload_id = secrets.token_hex(8)
        with self._lock:
            self.uploads[upload_id] = _Upload(key, self.clock())
        return upload_id

    def _upload_part(self, key: str, upload_id: str, number: int, body: bytes, checksum: str) -> str:
        if sha256_checksum(body) != checksum:
            raise StorageError(f"Part {number} of {self.describe()}/{key} does not match its SHA-256 checksum.")
        with self._lock:
            upload = self._upload(key, upload_id)
            upload.parts[number], upload.checksums[number] = bytes(body), checksum
        return _etag(body)

    def _complete_upload(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> dict[str, str | int]:
        with self._lock:
            upload = self._upload(key, upload_id)
            numbers = [part["PartNumber"] for part in parts]
            if numbers != sorted(upload.parts) or any(part["ETag"] != _etag(upload.parts[part["PartNumber"]])
                                                      for part in parts):
                raise StorageError(f"The parts given to complete {self.describe()}/{key} are not the uploaded ones.")
            self.objects[key] = (b"".join(upload.parts[number] for number in numbers), self.clock())
            self.checksums[key] = (composite_checksum([upload.checksums[number] for number in numbers]), len(numbers))
            del self.uploads[upload_id]
        return {}  # no server-side encryption here

    def _abort_upload(self, key: str, upload_id: str) -> None:
        with self._lock:
            self.uploads.pop(upload_id, None)

    def _upload(self, key: str, upload_id: str) -> _Upload:
        upload = self.uploads.get(upload_id)
        if upload is None or upload.key != key:
            raise StorageError(f"No unfinished upload {upload_id} of {self.describe()}/{key}.")
        return upload
