"""Encryption at rest through Airflow, turned on as a user would: SSE-KMS and drdrill's client-side key from an
Airflow connection in the target's config. The backup, archive, restore and PITR drills each run green through
``airflow dags test``; every object under the target's folder says aws:kms with the key, every backup object and
archived binlog begins with the cipher's header (none is readable zstd), and the key is nowhere in S3."""

from __future__ import annotations

import base64
import json
import os
import uuid

import pytest

from drdrill.storage.client_encryption import MAGIC
from drdrill.storage.layout import target_root
from tests.helpers.failover_helpers import finished_state, run_dag

pytestmark = pytest.mark.integration
DRILLS = ("dr_backup__shop", "dr_binlog_archive__shop", "dr_restore_drill__shop", "dr_pitr_drill__shop")
KMS_KEY = "alias/drdrill-system-test"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def test_backup_archive_restore_and_pitr_pass_with_sse_kms_and_a_client_side_key(
        metastore_primary_connection, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = metastore_primary_connection
    prefix = f"enc-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "drills.yaml"
    config.write_text(handle.config_path.read_text().replace("prefix: tests}", (
        f"prefix: {prefix}, encryption: {{server_side: kms, kms_key_id: {KMS_KEY}, "
        "client_side_conn_id: drdrill_backup_key}}")))
    key = os.urandom(32)
    monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_BACKUP_KEY", json.dumps({"conn_type": "generic",
                                                                     "password": base64.b64encode(key).decode()}))
    for dag_id in DRILLS:
        done = run_dag(dag_id, config)
        assert finished_state(done) == "success", (dag_id, done.stdout[-4000:], done.stderr[-2000:])

    client, bucket = handle.sandbox.s3_client(), "drdrill-backups"
    keys = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=target_root(prefix, "shop")) for item in page.get("Contents", [])]
    heads = {name: client.head_object(Bucket=bucket, Key=name) for name in keys}
    assert {name: (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) for name, head in heads.items()
            if (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) != ("aws:kms", KMS_KEY)} == {}
    sealed = [name for name in keys if name.endswith(".zst")]
    assert any("/binlog/" in name for name in sealed) and any(name.endswith("/dump.sql.zst") for name in sealed), keys
    for name in sealed:
        first = client.get_object(Bucket=bucket, Key=name, Range=f"bytes=0-{len(MAGIC) - 1}")["Body"].read()
        assert first == MAGIC and not first.startswith(ZSTD_MAGIC), name
    manifests = [json.loads(client.get_object(Bucket=bucket, Key=name)["Body"].read()) for name in keys
                 if name.endswith("/manifest.json")]
    assert manifests and all(entry["encryption"]["client_side"] and entry["encryption"]["server_side"] == "aws:kms"
                             for manifest in manifests for entry in manifest["objects"]), manifests
    secret = (key, base64.b64encode(key))
    assert not [name for name in keys if any(part in client.get_object(Bucket=bucket, Key=name)["Body"].read()
                                             for part in secret)]
