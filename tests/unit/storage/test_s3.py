"""What the S3 store adds to the shared contract (test_objectstore.py runs it against moto): how it reads S3's errors."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drdrill.storage.objectstore import ObjectMissing, StorageError
from drdrill.storage.s3 import S3ObjectStore

pytestmark = pytest.mark.unit


class NoSuchKey(ClientError):
    pass


def client(error_code: str) -> Any:
    """A client whose every request fails with S3 error ``error_code``."""
    def fail(**_: Any) -> None:
        error = NoSuchKey if error_code == "NoSuchKey" else ClientError
        raise error({"Error": {"Code": error_code, "Message": "m"}}, "Op")

    return SimpleNamespace(meta=SimpleNamespace(endpoint_url="http://s3.test:9000"),
                           exceptions=SimpleNamespace(ClientError=ClientError, NoSuchKey=NoSuchKey),
                           head_object=fail, get_object=fail, head_bucket=fail)


@pytest.mark.parametrize("code", ["404", "NoSuchKey", "NotFound"])
def test_a_missing_object_heads_as_none(code: str) -> None:
    assert S3ObjectStore(client(code), "b").head("k") is None


def test_any_other_error_is_raised_not_taken_for_absence() -> None:
    with pytest.raises(ClientError):
        S3ObjectStore(client("403"), "b").head("k")


def test_a_missing_object_reads_as_none_and_streams_as_object_missing() -> None:
    store = S3ObjectStore(client("NoSuchKey"), "b")
    assert store.get_bytes("k") is None
    with pytest.raises(ObjectMissing, match="s3://b/k does not exist"):
        next(store.iter_object("k"))


def test_an_unreachable_bucket_says_where_and_what_to_check() -> None:
    with pytest.raises(StorageError, match="Cannot reach s3://b at http://s3.test:9000") as raised:
        S3ObjectStore(client("403"), "b").check_access()
    assert "endpoint_url, credentials" in str(raised.value)


def test_client_config_sets_timeouts_and_attempts_that_the_store_reports() -> None:
    from drdrill.storage.s3 import client_config

    config = client_config(2.0, 3.0, 5)
    assert (config.connect_timeout, config.read_timeout) == (2.0, 3.0)
    store = S3ObjectStore(SimpleNamespace(meta=SimpleNamespace(config=config, endpoint_url="http://s3.test:9000")), "b")
    assert store.attempts() == 5
    message = store.unavailable("reading k", TimeoutError("timed out")).problem
    assert "http://s3.test:9000" in message and "read timeout 3.0 s" in message and "after 5 attempts" in message
