"""Encryption at rest through Airflow, turned on as a user would: SSE-KMS and drdrill's client-side key from an
Airflow connection in the target's config. The backup, archive, restore and PITR drills each run green through
``airflow dags test``; every object under the target's folder says aws:kms with the key, every backup object and
archived binlog begins with the cipher's header (none is readable zstd), and the key is nowhere in S3. By hand,
``drdrill backups fetch`` and ``drdrill decrypt`` give a DBA the plaintext, and refuse what does not authenticate."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from drdrill.storage.client_encryption import MAGIC
from drdrill.storage.layout import target_root
from tests.helpers.failover_helpers import finished_state, run_dag

pytestmark = pytest.mark.integration
# A target of its own (the session's shop under another name): its own DAGs, asset, history and folder in S3, so
# neither the other tests' backups nor Airflow's serialized shop DAGs (re-serialized at most every 30 s) meet it.
TARGET = "shop_enc"
DRILLS = tuple(f"{kind}__{TARGET}" for kind in ("dr_backup", "dr_binlog_archive", "dr_restore_drill", "dr_pitr_drill"))
KMS_KEY = "alias/drdrill-system-test"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def test_backup_archive_restore_and_pitr_pass_with_sse_kms_and_a_client_side_key(
        metastore_primary_connection, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = metastore_primary_connection
    prefix = f"enc-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "drills.yaml"
    text = handle.config_path.read_text()
    assert "  - name: shop\n" in text and "prefix: tests}" in text
    config.write_text(text.replace("  - name: shop\n", f"  - name: {TARGET}\n").replace("prefix: tests}", (
        f"prefix: {prefix}, encryption: {{server_side: kms, kms_key_id: {KMS_KEY}, "
        "client_side_conn_id: drdrill_backup_key}}")))
    key = os.urandom(32)
    monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_BACKUP_KEY", json.dumps({"conn_type": "generic",
                                                                     "password": base64.b64encode(key).decode()}))
    for dag_id in DRILLS:
        done = run_dag(dag_id, config)
        assert finished_state(done) == "success", f"{dag_id}:\n" + "\n".join(_trouble(done.stdout + done.stderr))

    client, bucket = handle.sandbox.s3_client(), "drdrill-backups"
    keys = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=target_root(prefix, TARGET)) for item in page.get("Contents", [])]
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

    _by_hand(config, client, bucket, sealed, tmp_path)


def _trouble(output: str) -> list[str]:
    """The lines of a failed run's output that say why: errors, tracebacks, failed tasks (the rest is noise)."""
    lines = output.splitlines()
    marks = [index for index, line in enumerate(lines) if any(word in line for word in (
        "Traceback", "Error", "error", "FAILED", "failed", "finding"))]
    return [lines[index][:600] for index in sorted({i for mark in marks for i in range(mark, min(mark + 3, len(lines)))})][-80:]


def _by_hand(config: Path, client, bucket: str, sealed: list[str], tmp_path: Path) -> None:
    """``drdrill backups fetch`` of the newest backup and ``drdrill decrypt`` of an archived binlog: plaintext zstd;
    a changed byte is refused by both, and the fetch keeps nothing."""
    env = {**os.environ, "DRDRILL_CONFIG": str(config)}

    def drdrill(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([str(Path(sys.executable).parent / "drdrill"), *args], input=stdin, capture_output=True,
                              env=env, timeout=300)

    listed = json.loads(drdrill("backups", "list", TARGET, "--json").stdout)["backups"]
    backup_id = next(item["backup_id"] for item in listed if item["valid"])
    fetched = drdrill("backups", "fetch", TARGET, backup_id, "--to", str(tmp_path / "fetched"), "--json")
    assert fetched.returncode == 0, fetched.stderr[-2000:]
    assert "dump.sql.zst" in json.loads(fetched.stdout)["objects"] and (tmp_path / "fetched" / "manifest.json").exists()
    dump = (tmp_path / "fetched" / "dump.sql.zst").read_bytes()
    assert dump.startswith(ZSTD_MAGIC) and b"-- Dump completed" in subprocess.run(
        ["zstd", "-dc"], input=dump, capture_output=True, check=True).stdout

    binlog = next(name for name in sealed if "/binlog/" in name)
    encrypted = client.get_object(Bucket=bucket, Key=binlog)["Body"].read()
    plain = drdrill("decrypt", TARGET, stdin=encrypted)
    assert plain.returncode == 0 and plain.stdout.startswith(ZSTD_MAGIC), plain.stderr[-2000:]
    assert subprocess.run(["zstd", "-dc"], input=plain.stdout, capture_output=True, check=True).stdout.startswith(b"\xfebin")
    changed = bytearray(encrypted)
    changed[len(MAGIC) + 100] ^= 1
    refused = drdrill("decrypt", TARGET, stdin=bytes(changed))
    assert refused.returncode == 2 and b"does not authenticate" in refused.stderr, refused.stderr[-2000:]

    dump_key = next(name for name in sealed if name.endswith(f"{backup_id}/dump.sql.zst"))
    body = client.get_object(Bucket=bucket, Key=dump_key)["Body"].read()
    client.put_object(Bucket=bucket, Key=dump_key, Body=body[:-1] + bytes([body[-1] ^ 1]), ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=KMS_KEY)
    broken = drdrill("backups", "fetch", TARGET, backup_id, "--to", str(tmp_path / "broken"), "--json")
    assert broken.returncode == 1 and not json.loads(broken.stdout)["fetched"], broken.stderr[-2000:]
    assert list((tmp_path / "broken").iterdir()) == []
