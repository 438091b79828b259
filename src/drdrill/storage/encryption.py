"""S3's own encryption of what drdrill writes (SSE-S3, SSE-KMS): the arguments every write sends, and what S3 said.

The arguments go on every PutObject and CreateMultipartUpload (``S3ObjectStore.put_arguments``; parts and the
completion inherit them); reads need nothing, S3 decrypts for a caller allowed to use the key. What S3 answers
(``ServerSideEncryption``, ``SSEKMSKeyId``) is what the manifest records, so it shows what was done, not what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# storage.encryption.server_side: its meaning, and S3's name of it (None: the bucket's default encryption)
SERVER_SIDE_MODES = {"none": "the bucket's default encryption", "s3": "SSE-S3 (AES256, keys S3 manages)",
                     "kms": "SSE-KMS with storage.encryption.kms_key_id"}
_S3_ALGORITHM = {"none": None, "s3": "AES256", "kms": "aws:kms"}


def server_side_arguments(mode: str, kms_key_id: str | None = None) -> dict[str, str]:
    """The PutObject/CreateMultipartUpload arguments of a server-side encryption mode (``none``: none)."""
    algorithm = _S3_ALGORITHM[mode]
    if algorithm is None:
        return {}
    if algorithm == "aws:kms":
        if not kms_key_id:
            raise ValueError("SSE-KMS needs a KMS key id")
        return {"ServerSideEncryption": algorithm, "SSEKMSKeyId": kms_key_id}
    return {"ServerSideEncryption": algorithm}


def server_side_of(reply: Mapping[str, Any]) -> dict[str, str | int]:
    """How S3 says it stored an object (a PutObject, CompleteMultipartUpload or HeadObject reply): the algorithm
    and the KMS key, empty when it said nothing."""
    said = {"server_side": str(reply.get("ServerSideEncryption") or ""), "kms_key_id": str(reply.get("SSEKMSKeyId") or "")}
    return {name: value for name, value in said.items() if value}
