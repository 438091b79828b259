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
                           head_object=fail, get_object=fail, list_objects_v2=fail)


@pytest.mark.parametrize("code", ["404", "NoSuchKey", "NotFound"])
def test_a_missing_object_heads_as_none(code: str) -> None:
    assert S3ObjectStore(client(code), "b").head("k") is None


def test_any_other_error_is_raised_not_taken_for_absence() -> None:
    with pytest.raises(ClientError):
        S3ObjectStore(client("InternalError"), "b").head("k")
    with pytest.raises(StorageError, match="access denied"):  # a refusal is no absence either
        S3ObjectStore(client("403"), "b").head("k")


def test_a_missing_object_reads_as_none_and_streams_as_object_missing() -> None:
    store = S3ObjectStore(client("NoSuchKey"), "b")
    assert store.get_bytes("k") is None
    with pytest.raises(ObjectMissing, match="s3://b/k does not exist"):
        next(store.iter_object("k"))


def test_an_unreachable_bucket_says_where_and_what_to_check() -> None:
    with pytest.raises(StorageError, match="Cannot reach s3://b at http://s3.test:9000") as raised:
        S3ObjectStore(client("NoSuchBucket"), "b").check_access("drdrill/shop/")
    assert "endpoint_url, credentials" in str(raised.value)


def denying(operation: str) -> Any:
    """A client whose ``operation`` (boto3's method name) is refused by the access policy."""
    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                          "".join(part.title() for part in operation.split("_")))

    return SimpleNamespace(meta=SimpleNamespace(endpoint_url="http://s3.test:9000"),
                           exceptions=SimpleNamespace(ClientError=ClientError, NoSuchKey=NoSuchKey), **{operation: deny})


@pytest.mark.parametrize(("operation", "call", "action"), [
    ("delete_object", lambda store: store.delete("p/k"), "s3:DeleteObject"),
    ("put_object", lambda store: store.put_bytes("p/k", b"x"), "s3:PutObject"),
    ("list_objects_v2", lambda store: store.check_access("p/"), "s3:ListBucket"),
])
def test_a_request_the_policy_refuses_names_the_iam_action_to_allow(operation, call, action) -> None:
    with pytest.raises(StorageError) as raised:
        call(S3ObjectStore(denying(operation), "b"))
    assert f"access denied; the connection's credentials need {action} there" in raised.value.problem
    assert f"Allow {action} on the bucket" in (raised.value.fix or "")


def test_keys_delete_objects_did_not_delete_are_an_error_not_a_count() -> None:
    def listed(**_: Any) -> dict[str, Any]:
        return {"Contents": [{"Key": "p/a", "Size": 1, "LastModified": None}]}

    def delete_objects(**_: Any) -> dict[str, Any]:
        return {"Errors": [{"Key": "p/a", "Code": "AccessDenied", "Message": "Access Denied"}]}

    fake = SimpleNamespace(meta=SimpleNamespace(endpoint_url="http://s3.test:9000"),
                           exceptions=SimpleNamespace(ClientError=ClientError, NoSuchKey=NoSuchKey),
                           get_paginator=lambda _: SimpleNamespace(paginate=lambda **kw: [listed()]),
                           delete_objects=delete_objects)
    with pytest.raises(StorageError, match="S3 refused DeleteObjects while deleting p/ .*need s3:DeleteObject"):
        S3ObjectStore(fake, "b").delete_prefix("p/")


def test_client_config_sets_timeouts_and_attempts_that_the_store_reports() -> None:
    from drdrill.storage.s3 import client_config

    config = client_config(2.0, 3.0, 5)
    assert (config.connect_timeout, config.read_timeout) == (2.0, 3.0)
    store = S3ObjectStore(SimpleNamespace(meta=SimpleNamespace(config=config, endpoint_url="http://s3.test:9000")), "b")
    assert store.attempts() == 5
    message = store.unavailable("reading k", TimeoutError("timed out")).problem
    assert "http://s3.test:9000" in message and "read timeout 3.0 s" in message and "after 5 attempts" in message
