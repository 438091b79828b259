"""``drdrill.airflow.connections``: Airflow connections (here ``AIRFLOW_CONN_*`` variables) become endpoints and stores.

Connections in the Airflow metastore, ``import_connections`` and ``redirect_connection`` of a metastore connection
need an Airflow database and run in the integration tests (failover drill, sandbox).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime, timezone

import pytest
from airflow.sdk.execution_time.secrets_masker import redact

from drdrill.airflow.connections import (
    manifest_signing_key,
    MissingConnection,
    client_key,
    connection_exists,
    copy_store,
    defined_by_environment,
    environment_variable,
    mysql_endpoint,
    object_store,
    redirect_connection,
)
from drdrill.config import Encryption, Storage
from drdrill.config.models import ObjectLock, StorageCopy
from drdrill.endpoints import MySQLEndpoint, TLSSettings
from drdrill.errors import DrdrillError

pytestmark = pytest.mark.unit

SECRET = "Unit-conn-secret-7x"


def define(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: dict[str, object] | str) -> None:
    monkeypatch.setenv(environment_variable(conn_id), value if isinstance(value, str) else json.dumps(value))


def test_the_variable_name_is_airflows() -> None:
    assert environment_variable("drdrill_shop_primary") == "AIRFLOW_CONN_DRDRILL_SHOP_PRIMARY"


def test_a_mysql_connection_becomes_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "unit_primary", {"conn_type": "mysql", "host": "db.example", "port": 3307, "login": "backup",
                                         "password": SECRET, "extra": {"unix_socket": "/run/mysqld.sock"}})
    assert mysql_endpoint("unit_primary") == MySQLEndpoint(host="db.example", port=3307, user="backup",
                                                           password=SECRET, socket="/run/mysqld.sock")


@pytest.mark.parametrize("ssl", [{"ca": "/etc/ca.pem", "cert": "/etc/c.pem", "key": "/etc/k.pem", "check_hostname": False},
                                 '{"ca": "/etc/ca.pem", "cert": "/etc/c.pem", "key": "/etc/k.pem", "check_hostname": false}'],
                         ids=["dict", "json-string"])
def test_the_ssl_extra_becomes_the_endpoint_s_tls_settings(monkeypatch: pytest.MonkeyPatch, ssl: object) -> None:
    define(monkeypatch, "unit_tls", {"conn_type": "mysql", "host": "db.example", "login": "backup", "extra": {"ssl": ssl}})
    define(monkeypatch, "unit_plain", {"conn_type": "mysql", "host": "db.example", "login": "backup"})
    assert mysql_endpoint("unit_tls").tls == TLSSettings(ca="/etc/ca.pem", cert="/etc/c.pem", key="/etc/k.pem",
                                                         check_hostname=False)
    assert mysql_endpoint("unit_plain").tls is None


def test_a_uri_connection_becomes_an_endpoint_with_defaults_for_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "unit_uri", "mysql://backup:p%40ss-word@db.example:3308")
    define(monkeypatch, "unit_bare", {"conn_type": "mysql", "login": "app"})
    assert mysql_endpoint("unit_uri") == MySQLEndpoint("db.example", 3308, "backup", "p@ss-word")
    assert mysql_endpoint("unit_bare") == MySQLEndpoint("127.0.0.1", 3306, "app", "")


def test_the_password_is_masked_in_airflow_logs_once_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Masked-only-after-lookup-4q"
    assert redact(f"login {secret}") == f"login {secret}"
    define(monkeypatch, "unit_masked", {"conn_type": "mysql", "login": "backup", "password": secret})
    mysql_endpoint("unit_masked")
    assert redact(f"login {secret}") == "login ***"


def test_a_missing_connection_names_it_the_config_key_and_how_to_create_it() -> None:
    with pytest.raises(MissingConnection) as caught:
        mysql_endpoint("unit_nowhere", "targets[shop].source_conn_id")
    error = caught.value
    assert isinstance(error, DrdrillError)
    assert error.problem == "Airflow connection 'unit_nowhere' (targets[shop].source_conn_id) is not defined."
    assert "airflow connections add unit_nowhere" in (error.fix or "")
    assert "AIRFLOW_CONN_UNIT_NOWHERE" in (error.fix or "")


MALFORMED = {
    "truncated_json": '{"conn_type": "mysql", "login": "backup", "password": "' + SECRET + '",',
    "port_not_a_number": json.dumps({"conn_type": "mysql", "port": "three", "password": SECRET}),
    "uri_port_not_a_number": f"mysql://backup:{SECRET}@db1:three/shop",
}


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_connection_fails_without_showing_its_secret(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    define(monkeypatch, "unit_malformed", value)
    with pytest.raises(DrdrillError) as caught:
        mysql_endpoint("unit_malformed", "targets[shop].source_conn_id")
    assert SECRET not in str(caught.value) and "unit_malformed" in str(caught.value)


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_connection_is_not_reported_as_missing(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    define(monkeypatch, "unit_malformed", value)
    with pytest.raises(DrdrillError) as caught:
        mysql_endpoint("unit_malformed")
    assert "not defined" not in str(caught.value)
    assert "AIRFLOW_CONN_UNIT_MALFORMED" in str(caught.value) and "cannot read it" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_connection_exists_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "unit_present", {"conn_type": "mysql"})
    assert connection_exists("unit_present")
    assert not connection_exists("unit_absent")


def test_defined_by_environment_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "unit_env_defined", {"conn_type": "mysql"})
    assert defined_by_environment("unit_env_defined")
    assert not defined_by_environment("unit_env_absent")


def test_an_s3_connection_becomes_an_object_store_on_the_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "unit_s3", {"conn_type": "aws", "login": "AKIDUNIT", "password": SECRET,
                                    "extra": {"endpoint_url": "http://127.0.0.1:9", "region_name": "eu-west-1"}})
    store = object_store(Storage(conn_id="unit_s3", bucket="drdrill-backups", prefix="p"))
    assert store.bucket == "drdrill-backups"
    assert store.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert store.client.meta.region_name == "eu-west-1"
    assert SECRET not in store.describe()


def test_the_storage_timeouts_and_attempts_win_over_the_connections_and_keep_its_other_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    define(monkeypatch, "unit_s3_slow", {"conn_type": "aws", "login": "AKIDUNIT", "password": SECRET, "extra": {
        "endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"read_timeout": 600, "signature_version": "s3v4"}}})
    store = object_store(Storage(conn_id="unit_s3_slow", bucket="drdrill-backups", read_timeout=timedelta(seconds=3), attempts=2))
    config = store.client.meta.config
    assert (config.connect_timeout, config.read_timeout, config.signature_version) == (10, 3, "s3v4")
    assert store.attempts() == 2


def test_the_copy_store_is_the_copy_bucket_in_its_region_with_the_same_object_lock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "unit_s3", {"conn_type": "aws", "login": "AKIDUNIT", "password": SECRET,
                                    "extra": {"endpoint_url": "http://127.0.0.1:9", "region_name": "eu-west-1"}})
    storage = Storage(conn_id="unit_s3", bucket="drdrill-backups", object_lock=ObjectLock(mode="compliance", retain_days=3),
                      copy=StorageCopy(bucket="drdrill-copy", region="us-west-2"))
    copy, store = copy_store(storage), object_store(storage)
    assert copy is not None and (copy.bucket, copy.client.meta.region_name) == ("drdrill-copy", "us-west-2")
    key = "p/shop/full/20261121T083012Z-a1b2c3/manifest.json"
    assert copy.put_arguments(key) == store.put_arguments(key) != {}
    assert store.put_arguments("p/shop/binlog/x") == {}
    assert copy_store(Storage(conn_id="unit_s3", bucket="drdrill-backups")) is None
    with pytest.raises(MissingConnection, match=r"'unit_no_s3' \(storage.copy.conn_id\) is not defined"):
        copy_store(dataclasses.replace(storage, copy=StorageCopy(bucket="drdrill-copy", conn_id="unit_no_s3")))


def test_a_missing_s3_connection_names_the_storage_key() -> None:
    with pytest.raises(MissingConnection, match=r"'unit_no_s3' \(storage.conn_id\) is not defined"):
        object_store(Storage(conn_id="unit_no_s3", bucket="drdrill-backups"))


def test_the_manifest_signing_key_is_the_connections_password_masked_and_unset_means_unsigned(
        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "manifest-key-masked-after-lookup-0123456789"
    assert manifest_signing_key(Storage(conn_id="s3", bucket="drdrill-backups")) is None
    define(monkeypatch, "unit_manifest_key", {"conn_type": "generic", "password": secret})
    key = manifest_signing_key(Storage(conn_id="s3", bucket="drdrill-backups", manifest_signing_conn_id="unit_manifest_key"))
    assert key is not None and key.secret == secret.encode() and "unit_manifest_key" in key.source
    assert secret not in repr(key) and redact(f"key {secret}") == "key ***"


SIGNING = (manifest_signing_key, lambda: Storage(conn_id="s3", bucket="drdrill-backups",
                                                 manifest_signing_conn_id="unit_bad_key"))
CLIENT_SIDE = (client_key, lambda: Storage(conn_id="s3", bucket="drdrill-backups",
                                           encryption=Encryption(client_side_conn_id="unit_bad_key")))


@pytest.mark.parametrize(("resolve", "fields", "says"), [
    (SIGNING, {"conn_type": "generic"}, "has no password"),
    (SIGNING, {"conn_type": "generic", "password": "too-short"}, "at least 32"),
    (CLIENT_SIDE, {"conn_type": "generic"}, "has no password"),
    (CLIENT_SIDE, {"conn_type": "generic", "password": "too-short"}, "base64 key of 32 bytes"),
])
def test_an_unusable_key_connection_says_what_to_set(monkeypatch: pytest.MonkeyPatch, resolve, fields, says) -> None:
    define(monkeypatch, "unit_bad_key", fields)
    function, storage = resolve
    with pytest.raises(DrdrillError, match=says) as raised:
        function(storage())
    assert "too-short" not in str(raised.value) and "openssl rand" in (raised.value.fix or "")


def test_a_missing_manifest_signing_connection_names_its_key() -> None:
    with pytest.raises(MissingConnection, match=r"'unit_no_key' \(storage.manifest_signing_conn_id\) is not defined"):
        manifest_signing_key(Storage(conn_id="s3", bucket="drdrill-backups", manifest_signing_conn_id="unit_no_key"))


def test_a_connection_defined_by_a_variable_is_not_redirected(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"conn_type": "mysql", "host": "10.0.0.1", "port": 3306, "login": "backup", "password": SECRET}
    define(monkeypatch, "unit_source", value)
    with pytest.raises(DrdrillError) as caught:
        redirect_connection("unit_source", "10.0.0.2", 3306)
    assert "defined by the environment variable AIRFLOW_CONN_UNIT_SOURCE" in caught.value.problem
    assert "airflow connections add" in (caught.value.fix or "") and SECRET not in str(caught.value)
    assert mysql_endpoint("unit_source").host == "10.0.0.1"


def test_the_client_side_key_is_masked_and_on_the_store_and_every_write_carries_sse_and_the_lock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = base64.b64encode(b"client-side-key-of-32-bytes-0123").decode()
    assert client_key(Storage(conn_id="s3", bucket="drdrill-backups")) is None
    define(monkeypatch, "unit_client_key", {"conn_type": "generic", "password": secret})
    define(monkeypatch, "unit_s3_enc", {"conn_type": "aws", "login": "AKIDUNIT", "password": SECRET,
                                        "extra": {"endpoint_url": "http://127.0.0.1:9"}})
    storage = Storage(conn_id="unit_s3_enc", bucket="drdrill-backups", encryption=Encryption(
        server_side="kms", kms_key_id="alias/drdrill", client_side_conn_id="unit_client_key"))
    store = object_store(storage)
    assert store.client_key is not None and store.client_key.secret == b"client-side-key-of-32-bytes-0123"
    assert store.client_key.label == "Airflow connection 'unit_client_key'" and secret not in repr(store.client_key)
    sse_kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/drdrill"}
    manifest = "drdrill/shop/full/20261121T083012Z-a1b2c3/manifest.json"
    assert store.put_arguments(manifest) == store.put_arguments("drdrill/shop/binlog/x") == sse_kms
    assert redact(f"key {secret}") == "key ***"
    assert object_store(Storage(conn_id="unit_s3_enc", bucket="drdrill-backups")).put_arguments(manifest) == {}
    locked = object_store(dataclasses.replace(storage, object_lock=ObjectLock(mode="governance", retain_days=2)))
    assert locked.put_arguments(manifest) == {**sse_kms, "ObjectLockMode": "GOVERNANCE",
                                              "ObjectLockRetainUntilDate": datetime(2026, 11, 23, 8, 30, 12,
                                                                                    tzinfo=timezone.utc)}
    assert locked.put_arguments("drdrill/shop/binlog/x") == sse_kms  # binlogs are encrypted, never locked
