"""The object store on an S3 endpoint, through a boto3 client (in Airflow the amazon provider's S3Hook gives it).

A slow, stalled or cut endpoint is handled here: the client's connect and read timeouts and its retries are set
deliberately (``client_config``; botocore's defaults wait 60 s per read), a request that fails on the network is
retried by botocore (a multipart part on its own), a download cut mid-object resumes from the byte it reached, and
what still fails after the attempts is a StorageError naming the endpoint, the timeout and the attempts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.config import Config
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError, IncompleteReadError, ResponseStreamingError

from drdrill.storage.client_encryption import ClientKey
from drdrill.storage.encryption import server_side_of
from drdrill.storage.objectstore import PARTS_IN_FLIGHT, ObjectAttributes, ObjectMissing, ObjectRetention, ObjectStore, \
    StorageError, StoredObject, UploadResult, upload_result

# The IAM action each S3 operation drdrill calls needs (AWS's service authorization reference for S3); the shipped
# least-privilege policy (drdrill/storage/iam-policy.json) allows exactly these (tests/unit/storage/test_iam_policy.py).
IAM_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket", "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject",
    "GetObjectAttributes": "s3:GetObjectAttributes", "PutObject": "s3:PutObject", "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject", "DeleteObject": "s3:DeleteObject", "DeleteObjects": "s3:DeleteObject",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads", "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "CopyObject": "s3:PutObject", "UploadPartCopy": "s3:PutObject", "PutObjectRetention": "s3:PutObjectRetention",
}
LOCK_ARGUMENTS = ("ObjectLockMode", "ObjectLockRetainUntilDate")
# What writing a locked object needs besides s3:PutObject, and reading its lock besides s3:GetObject (HeadObject
# answers without the lock headers otherwise).
OBJECT_LOCK_ACTIONS = ("s3:PutObjectRetention", "s3:GetObjectRetention")
_DENIED_CODES = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
_NO_LOCK_CODES = {"ObjectLockConfigurationNotFoundError"}
_PARTS_SUFFIX = re.compile(r"-(\d+)$")  # "<base64>-3": a multipart object's composite checksum, as some responses give it
# The network failing (refused, timed out, cut), as botocore raises it from a request or from a body being read.
NETWORK_ERRORS = (BotoConnectionError, HTTPClientError, IncompleteReadError, ResponseStreamingError)


def client_config(connect_timeout: float, read_timeout: float, attempts: int,
                  parts_in_flight: int = PARTS_IN_FLIGHT) -> Config:
    """The boto3 client settings of a store: timeouts in seconds, ``attempts`` tries of each request, and a
    connection pool large enough for ``parts_in_flight`` parts at once (botocore's default of 10 otherwise)."""
    return Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                  retries={"mode": "standard", "total_max_attempts": attempts},
                  max_pool_connections=max(10, parts_in_flight + 2))


PutArguments = Callable[[str], dict[str, Any]]  # key -> extra arguments of the PutObject/CreateMultipartUpload writing it


def no_put_arguments(key: str) -> dict[str, Any]:
    """No extra arguments on any write."""
    return {}


class S3ObjectStore(ObjectStore):
    """A bucket on an S3 endpoint; every method is a thin, streaming use of the client.

    ``put_arguments`` gives the extra arguments each new object is written with, by key (PutObject,
    CreateMultipartUpload, CopyObject): the target's server-side encryption
    (``drdrill.storage.encryption.server_side_arguments``) and the Object Lock of a backup's objects
    (``storage.object_lock.ObjectLockPolicy.put_arguments``). ``client_key``: the target's client-side encryption key
    (``ObjectStore.client_key``).
    """

    def __init__(self, client: Any, bucket: str, parts_in_flight: int = PARTS_IN_FLIGHT, *,
                 put_arguments: PutArguments = no_put_arguments, client_key: ClientKey | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.parts_in_flight = parts_in_flight
        self.put_arguments = put_arguments
        self.client_key = client_key

    def describe(self) -> str:
        return f"s3://{self.bucket} at {self.client.meta.endpoint_url}"

    def attempts(self) -> int:
        """How many times the client tries each request (its retry config; botocore's default otherwise)."""
        retries = self.client.meta.config.retries or {}
        return int(retries.get("total_max_attempts") or retries.get("max_attempts", 2) + 1)

    @contextlib.contextmanager
    def _network(self, action: str) -> Iterator[None]:
        """Turn the network's failure during ``action`` (after the client's own retries), or a refusal by the
        bucket's access policy, into a StorageError."""
        try:
            yield
        except NETWORK_ERRORS as exc:
            raise self.unavailable(action, exc) from exc
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _DENIED_CODES:
                raise self.denied(exc.operation_name, action) from exc
            raise

    def denied(self, operation: str, action: str) -> StorageError:
        """The StorageError of a request the credentials may not make: the IAM action that allows it."""
        needed = IAM_ACTIONS.get(operation, f"the permission for {operation}")
        return StorageError(
            f"S3 refused {operation} while {action} (s3://{self.bucket} at {self.client.meta.endpoint_url}): "
            f"access denied; the connection's credentials need {needed} there.",
            f"Allow {needed} on the bucket and the target's prefix in the IAM policy (drdrill's least-privilege "
            "policy ships as drdrill/storage/iam-policy.json; README: Deploy drdrill into your Airflow).")

    def unavailable(self, action: str, exc: BaseException) -> StorageError:
        """The StorageError of the endpoint failing: which endpoint, the action, its timeouts and attempts."""
        config = self.client.meta.config
        return StorageError(
            f"S3 endpoint {self.client.meta.endpoint_url} failed while {action} (s3://{self.bucket}) after "
            f"{self.attempts()} attempts with connect timeout {config.connect_timeout} s and read timeout "
            f"{config.read_timeout} s: {exc}.",
            "Check that the endpoint answers (network, load, S3 status); raise storage.read_timeout or "
            "storage.attempts for a slow one. Nothing half-written counts: re-run the drill.")

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def check_access(self, prefix: str = "") -> None:
        try:  # a listing, not HeadBucket: with a prefix-scoped s3:ListBucket, AWS refuses HeadBucket
            with self._network(f"listing {prefix or 'the bucket'}"):
                self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        except StorageError as exc:
            raise StorageError(f"Cannot reach {self.describe()}: {exc.problem}", exc.fix) from exc
        except Exception as exc:  # botocore raises several unrelated types here
            raise StorageError(
                f"Cannot reach {self.describe()}: {exc}.",
                "Check the S3 connection (endpoint_url, credentials) and that the bucket exists.",
            ) from exc

    def put_bytes(self, key: str, body: bytes) -> UploadResult:
        with self._network(f"writing {key}"):
            result = upload_result(key, body)
            reply = self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256",
                                           ChecksumSHA256=result.checksum_sha256, **self.put_arguments(key))
        return dataclasses.replace(result, encryption=server_side_of(reply))

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return b"".join(self.iter_object(key))
        except ObjectMissing:
            return None

    def iter_object(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream the object; a body cut or stalled mid-way is read on from the byte reached (the same version:
        ``IfMatch`` its ETag), up to the client's attempts in all."""
        offset, failures = 0, 0
        version: dict[str, str] = {}
        while True:
            try:
                with self._network(f"reading {key}"):
                    reply = self.client.get_object(Bucket=self.bucket, Key=key, **version,
                                                   **({"Range": f"bytes={offset}-"} if offset else {}))
            except self.client.exceptions.NoSuchKey as exc:
                raise ObjectMissing(f"s3://{self.bucket}/{key} does not exist.",
                                    "Check the key; list the prefix to see what is stored.") from exc
            version = {"IfMatch": reply["ETag"]}
            size = offset + int(reply["ContentLength"])
            body = reply["Body"]
            try:
                for chunk in body.iter_chunks(chunk_size):
                    offset += len(chunk)
                    yield chunk
                return
            except NETWORK_ERRORS as exc:
                failures += 1
                if failures >= self.attempts():
                    raise self.unavailable(f"reading {key} (cut at byte {offset} of {size})", exc) from exc
                if offset >= size:
                    return
            finally:
                body.close()

    def _head_object(self, key: str, action: str) -> dict[str, Any] | None:
        """HeadObject's reply, or None when the object is absent."""
        try:
            with self._network(action):
                return dict(self.client.head_object(Bucket=self.bucket, Key=key))
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise

    def head(self, key: str) -> StoredObject | None:
        reply = self._head_object(key, f"looking up {key}")
        return None if reply is None else StoredObject(key=key, size=reply["ContentLength"],
                                                       last_modified=reply["LastModified"])

    def retention(self, key: str) -> ObjectRetention | None:
        """The lock HeadObject reports (its ObjectLockMode and ObjectLockRetainUntilDate; S3 sends them only to
        callers allowed s3:GetObjectRetention)."""
        reply = self._head_object(key, f"looking up the lock of {key}")
        if not reply or not reply.get("ObjectLockMode") or not reply.get("ObjectLockRetainUntilDate"):
            return None
        return ObjectRetention(mode=str(reply["ObjectLockMode"]), until=reply["ObjectLockRetainUntilDate"])

    def object_lock_enabled(self) -> bool:
        try:
            with self._network("reading the bucket's Object Lock configuration"):
                reply = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NO_LOCK_CODES:
                return False
            raise
        return (reply.get("ObjectLockConfiguration") or {}).get("ObjectLockEnabled") == "Enabled"

    def attributes(self, key: str) -> ObjectAttributes | None:
        """GetObjectAttributes: the object's size, SHA-256 checksum and part count, without a GET of its body."""
        try:
            with self._network(f"reading the attributes of {key}"):
                reply = self.client.get_object_attributes(Bucket=self.bucket, Key=key,
                                                          ObjectAttributes=["Checksum", "ObjectParts", "ObjectSize"])
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise
        checksum = str((reply.get("Checksum") or {}).get("ChecksumSHA256") or "")
        parts = (reply.get("ObjectParts") or {}).get("TotalPartsCount")
        if suffix := _PARTS_SUFFIX.search(checksum):
            checksum, parts = checksum[:suffix.start()], parts or int(suffix.group(1))
        return ObjectAttributes(size=int(reply["ObjectSize"]), checksum_sha256=checksum,
                                parts=None if parts is None else int(parts))

    def list_objects(self, prefix: str) -> list[StoredObject]:
        found: list[StoredObject] = []
        with self._network(f"listing {prefix}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found.append(StoredObject(item["Key"], item["Size"], item["LastModified"]))
        return found

    def list_folders(self, prefix: str) -> list[str]:
        names: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        with self._network(f"listing {prefix}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    names.append(common["Prefix"][len(prefix):].rstrip("/"))
        return names

    def delete(self, key: str) -> None:
        with self._network(f"deleting {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        keys = [obj.key for obj in self.list_objects(prefix)]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start:start + DELETE_BATCH]]
            with self._network(f"deleting {prefix}"):
                reply = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            errors = reply.get("Errors") or []  # DeleteObjects answers 200 and lists the keys it did not delete
            if any(error.get("Code") in _DENIED_CODES for error in errors):
                raise self.denied("DeleteObjects", f"deleting {prefix} ({errors[0].get('Key')})")
            if errors:
                raise StorageError(f"S3 did not delete {len(errors)} object(s) under {prefix} in s3://{self.bucket}: "
                                   f"{errors[0].get('Key')}: {errors[0].get('Code')} {errors[0].get('Message')}.",
                                   "Check the bucket (object lock, versioning policy), then re-run retention.")
        return len(keys)

    def copy_in(self, source: ObjectStore, key: str, size: int, part_size: int) -> None:
        """CopyObject, or UploadPartCopy of the original's byte ranges (S3's way past CopyObject's 5 GB); S3 computes
        each part's checksum, so the copy's composite checksum is the original's."""
        origin = {"Bucket": source.bucket, "Key": key}
        if not part_size:
            extra = self.put_arguments(key)
            lock = {name: extra.pop(name) for name in LOCK_ARGUMENTS if name in extra}
            with self._network(f"copying {key} from s3://{source.bucket}"):
                reply = self.client.copy_object(Bucket=self.bucket, Key=key, CopySource=origin,
                                                ChecksumAlgorithm="SHA256", **extra)
                if lock:  # moto refuses CopyObject with lock headers and no body checksum; the lock follows at once
                    self.client.put_object_retention(
                        Bucket=self.bucket, Key=key, VersionId=reply["VersionId"],
                        Retention={"Mode": lock["ObjectLockMode"], "RetainUntilDate": lock["ObjectLockRetainUntilDate"]})
            return
        upload_id = self._start_upload(key)
        try:
            parts = []
            for number, start in enumerate(range(0, max(size, 1), part_size), start=1):
                with self._network(f"copying part {number} of {key} from s3://{source.bucket}"):
                    copied = self.client.upload_part_copy(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, CopySource=origin,
                        CopySourceRange=f"bytes={start}-{min(start + part_size, size) - 1}")["CopyPartResult"]
                parts.append({"PartNumber": number, "ETag": copied["ETag"],
                              **({"ChecksumSHA256": copied["ChecksumSHA256"]} if copied.get("ChecksumSHA256") else {})})
            self._complete_upload(key, upload_id, parts)
        except BaseException:
            with contextlib.suppress(Exception):  # the copy's own error is the one worth reporting
                self._abort_upload(key, upload_id)
            raise

    def abort_stale_uploads(self, prefix: str, older_than: timedelta, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(timezone.utc)) - older_than
        with self._network(f"listing the unfinished uploads under {prefix}"):
            reply = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        aborted = 0
        for upload in reply.get("Uploads", []):
            if upload["Initiated"] < cutoff:
                self._abort_upload(upload["Key"], upload["UploadId"])
                aborted += 1
        return aborted

    def _start_upload(self, key: str) -> str:
        with self._network(f"starting the upload of {key}"):
            return str(self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256",
                                                           **self.put_arguments(key))["UploadId"])

    def _upload_part(self, key: str, upload_id: str, number: int, body: bytes, checksum: str) -> str:
        with self._network(f"uploading part {number} of {key}"):
            reply = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                            Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
        return str(reply["ETag"])

    def _complete_upload(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> dict[str, str | int]:
        with self._network(f"completing the upload of {key}"):
            return server_side_of(self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                                        MultipartUpload={"Parts": parts}))

    def _abort_upload(self, key: str, upload_id: str) -> None:
        with self._network(f"aborting the upload of {key}"):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
