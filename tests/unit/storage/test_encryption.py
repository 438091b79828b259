"""The server-side encryption arguments of each mode, and reading back what S3 said it did."""

from __future__ import annotations

import pytest

from drdrill.storage.encryption import SERVER_SIDE_MODES, server_side_arguments, server_side_of

pytestmark = pytest.mark.unit


def test_each_mode_sends_its_arguments() -> None:
    assert server_side_arguments("none") == {}
    assert server_side_arguments("s3") == {"ServerSideEncryption": "AES256"}
    assert server_side_arguments("kms", "alias/b") == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/b"}
    with pytest.raises(ValueError):
        server_side_arguments("kms")
    assert set(SERVER_SIDE_MODES) == {"none", "s3", "kms"}


def test_what_s3_said_is_kept_and_silence_is_empty() -> None:
    assert server_side_of({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "arn:k", "ETag": "x"}) == {
        "server_side": "aws:kms", "kms_key_id": "arn:k"}
    assert server_side_of({"ServerSideEncryption": "AES256"}) == {"server_side": "AES256"}
    assert server_side_of({"ETag": "x"}) == {}
