"""The object store on an S3 endpoint, through a boto3 client (in Airflow the amazon provider's S3Hook gives it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from drdrill.storage.objectstore import ObjectMissing, ObjectStore, StorageError, StoredObject, UploadResult, \
    upload_result

DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


class S3ObjectStore(ObjectStore):
    """A bucket on an S3 endpoint; every method is a thin, streaming use of the client."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def describe(self) -> str:
        return f"s3://{self.bucket} at {self.client.meta.endpoint_url}"

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def check_access(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # botocore raises several unrelated types here
            raise StorageError(
                f"Cannot reach {self.describe()}: {exc}.",
                "Check the S3 connection (endpoint_url, credentials) and that the bucket exists.",
            ) from exc

    def put_bytes(self, key: str, body: bytes) -> UploadResult:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
        return upload_result(key, body)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.client.exceptions.NoSuchKey:
            return None

    def iter_object(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except self.client.exceptions.NoSuchKey as exc:
            raise ObjectMissing(f"s3://{self.bucket}/{key} does not exist.",
                                "Check the key; list the prefix to see what is stored.") from exc
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def head(self, key: str) -> StoredObject | None:
        try:
            reply = self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise
        return StoredObject(key=key, size=reply["ContentLength"], last_modified=reply["LastModified"])

    def list_objects(self, prefix: str) -> list[StoredObject]:
        found: list[StoredObject] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found.append(StoredObject(item["Key"], item["Size"], item["LastModified"]))
        return found

    def list_folders(self, prefix: str) -> list[str]:
        names: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.append(common["Prefix"][len(prefix):].rstrip("/"))
        return names

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        keys = [obj.key for obj in self.list_objects(prefix)]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start:start + DELETE_BATCH]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    def abort_stale_uploads(self, prefix: str, older_than: timedelta, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(timezone.utc)) - older_than
        reply = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        aborted = 0
        for upload in reply.get("Uploads", []):
            if upload["Initiated"] < cutoff:
                self._abort_upload(upload["Key"], upload["UploadId"])
                aborted += 1
        return aborted

    def _start_upload(self, key: str) -> str:
        return str(self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"])

    def _upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        reply = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        return str(reply["ETag"])

    def _complete_upload(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> None:
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})

    def _abort_upload(self, key: str, upload_id: str) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
