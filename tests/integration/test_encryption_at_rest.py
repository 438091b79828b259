"""Encryption at rest against a real server and a moto S3 server: SSE-KMS (or SSE-S3) on every object a backup and a
restore drill write (each one listed and headed), drdrill's client-side encryption of the backup data and the binlog
archive, and the drills through it: every engine's encrypted backup verifies and its restore drill passes; a wrong
key, no key, a changed byte and a cut object each turn the drill red with their own finding; the key itself is in no
object, manifest or drill record."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill.drills.backup.runner import run_backup_drill
from drdrill.drills.layouts import layout_for
from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.runner import RestoreServers, run_restore_drill
from drdrill.endpoints import MySQLEndpoint
from drdrill.sandbox.heartbeat import beat_once
from drdrill.sandbox.sample_data import create_shop_schema, load_shop_data
from drdrill.servers.grants import BACKUP_GRANTS
from drdrill.storage.binlog.archive import archive_closed_binlogs, fetch_binlogs
from drdrill.storage.binlog.chain import check_archive
from drdrill.storage.binlog.index import BinlogArchiveError, load_entries
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.client_encryption import HEADER_BYTES, MAGIC, SCHEME, SEALED_CHUNK, ClientKey
from drdrill.storage.encryption import server_side_arguments
from drdrill.storage.layout import target_root
from drdrill.storage.manifest import read_manifest
from drdrill.storage.s3 import S3ObjectStore
from drdrill.storage.verify import verify_backup
from tests.helpers.drill_helpers import shop_target

pytestmark = pytest.mark.integration
PASSWORD = "enc-test-backup-pw"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
SECRET = os.urandom(32)
KEY = ClientKey(SECRET, "Airflow connection 'drdrill_backup_key'")


@dataclasses.dataclass(frozen=True)
class Source:
    server: Any
    login: MySQLEndpoint


@pytest.fixture(scope="module")
def source(mariadb_module_factory) -> Source:
    """A server with the shop schema, a few thousand rows and the backup login."""
    server = mariadb_module_factory("encsource")
    with contextlib.closing(server.root_connect()) as connection:
        create_shop_schema(connection)
        load_shop_data(connection, rows=20000)  # a dump of several 64 KiB chunks
    server.ensure_user("drd_backup", PASSWORD, BACKUP_GRANTS)
    return Source(server, server.endpoint("drd_backup", PASSWORD))


def _store(moto_s3, bucket: str, mode: str = "kms", key: ClientKey | None = KEY) -> S3ObjectStore:
    arguments = server_side_arguments(mode, KMS_KEY if mode == "kms" else None)
    store = S3ObjectStore(moto_s3.client, bucket, put_arguments=lambda _key: arguments, client_key=key)
    store.ensure_bucket()
    return store


@pytest.fixture
def drill_target(moto_s3) -> Iterator[Any]:
    target = dataclasses.replace(shop_target(), name=f"enc_{uuid.uuid4().hex[:8]}")
    yield target
    S3ObjectStore(moto_s3.client, target.storage.bucket).delete_prefix(target_root(target.storage.prefix, target.name))


def _backup(source: Source, target: Any, store: S3ObjectStore, tmp_path: Path, engine: str = "mariadb-dump") -> str:
    with contextlib.closing(source.server.root_connect()) as connection:
        beat_once(connection, source.server.spec.server_id)  # the RPO measure's newest heartbeat in the backup
    record, findings = run_backup_drill(target, source.login, store, signing_key=None, work_dir=tmp_path / "work",
                                        history_url=f"sqlite:///{tmp_path}/history.sqlite",
                                        run_id=f"backup-{uuid.uuid4().hex[:6]}", started_at=datetime.now(timezone.utc),
                                        engine_override=engine)
    assert (record.verdict, [finding.code for finding in findings]) == ("passed", []), record.findings
    assert base64.b64encode(SECRET).decode() not in json.dumps(dataclasses.asdict(record), default=str)
    return str(record.backup_id)


def _restore(source: Source, target: Any, store: S3ObjectStore, backup_id: str, tmp_path: Path,
             name: str) -> tuple[str, list[str]]:
    record, findings = run_restore_drill(
        target, RestoreServers(source=source.login, replica=None, store=store),
        RestoreOptions(backup="backup_id", backup_id=backup_id), work_dir=tmp_path / name,
        history_url=f"sqlite:///{tmp_path}/history.sqlite", run_id=f"restore-{name}-{uuid.uuid4().hex[:6]}",
        started_at=datetime.now(timezone.utc))
    return record.verdict, [finding.code for finding in findings]


def _server_side_of_every_object(moto_s3, store: S3ObjectStore, target: Any) -> dict[str, tuple[Any, Any]]:
    """Each object under the target's folder: (ServerSideEncryption, SSEKMSKeyId) as HeadObject reports them."""
    listed = store.list_objects(target_root(target.storage.prefix, target.name))
    heads = {item.key: moto_s3.client.head_object(Bucket=store.bucket, Key=item.key) for item in listed}
    return {key: (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) for key, head in heads.items()}


@pytest.mark.parametrize("engine", ["mariadb-dump", "mydumper", "mariabackup"])
def test_an_sse_kms_and_client_side_encrypted_backup_of_every_engine_verifies_restores_and_shows_its_scheme(
        source, moto_s3, drill_target, tmp_path: Path, engine: str) -> None:
    store = _store(moto_s3, drill_target.storage.bucket)
    backup_id = _backup(source, drill_target, store, tmp_path, engine)
    assert verify_backup(store, layout_for(drill_target), backup_id, signing_key=None, deep=True)[1] == []
    assert _restore(source, drill_target, store, backup_id, tmp_path, "right") == ("passed", [])

    manifest = read_manifest(store, layout_for(drill_target), backup_id, signing_key=None)
    assert manifest.all_objects(), "the backup stored nothing"
    for entry in manifest.all_objects():  # the manifest shows how each object is encrypted, never the key
        assert entry.encryption == {"server_side": "aws:kms", "kms_key_id": KMS_KEY, "client_side": SCHEME,
                                    "chunk_size": 65536, "key": KEY.label}, entry
        body = moto_s3.client.get_object(Bucket=store.bucket, Key=layout_for(drill_target).object_key(
            backup_id, entry.name))["Body"].read(len(MAGIC))
        assert body == MAGIC, f"{entry.name} is stored in the clear"
    raw_manifest = store.get_bytes(layout_for(drill_target).manifest_key(backup_id)) or b""
    assert SECRET not in raw_manifest and base64.b64encode(SECRET) not in raw_manifest

    server_side = _server_side_of_every_object(moto_s3, store, drill_target)
    kinds = {key.rsplit("/", 1)[-1] for key in server_side}
    assert {"manifest.json", "proof.json"} <= kinds and any(key.endswith(".zst") for key in server_side), kinds
    assert any("/evidence/" in key or "validation" in key for key in server_side), sorted(server_side)
    unencrypted = {key: said for key, said in server_side.items() if said != ("aws:kms", KMS_KEY)}
    assert unencrypted == {}, unencrypted


@pytest.mark.parametrize(("mode", "said"), [("s3", ("AES256", None)), ("none", (None, None))])
def test_sse_s3_is_on_every_object_and_without_server_side_encryption_none_is(
        source, moto_s3, drill_target, tmp_path: Path, mode: str, said: tuple[Any, Any]) -> None:
    store = _store(moto_s3, drill_target.storage.bucket, mode, key=None)
    backup_id = _backup(source, drill_target, store, tmp_path)
    manifest = read_manifest(store, layout_for(drill_target), backup_id, signing_key=None)
    assert {json.dumps(entry.encryption) for entry in manifest.all_objects()} == {
        json.dumps({"server_side": said[0]} if said[0] else {})}
    assert set(_server_side_of_every_object(moto_s3, store, drill_target).values()) == {said}


def _rewrite(moto_s3, store: S3ObjectStore, key: str, change: Any) -> None:
    body = moto_s3.client.get_object(Bucket=store.bucket, Key=key)["Body"].read()
    moto_s3.client.put_object(Bucket=store.bucket, Key=key, Body=change(body), ChecksumAlgorithm="SHA256",
                              **store.put_arguments(key))


def test_a_wrong_key_no_key_a_changed_byte_and_a_cut_object_are_each_red_and_the_right_key_green(
        source, moto_s3, drill_target, tmp_path: Path) -> None:
    store = _store(moto_s3, drill_target.storage.bucket)
    backup_id = _backup(source, drill_target, store, tmp_path)
    layout = layout_for(drill_target)
    other = S3ObjectStore(store.client, store.bucket, put_arguments=store.put_arguments,
                          client_key=ClientKey(os.urandom(32), "Airflow connection 'rotated_key'"))
    keyless = S3ObjectStore(store.client, store.bucket, put_arguments=store.put_arguments)
    for deep in (False, True):  # the backup drill's verify (attributes: each header opened) and the deep one
        assert {f.code for f in verify_backup(other, layout, backup_id, signing_key=None, deep=deep)[1]} == {
            "ENCRYPTION_KEY_WRONG"}
        assert {f.code for f in verify_backup(keyless, layout, backup_id, signing_key=None, deep=deep)[1]} == {
            "ENCRYPTION_KEY_MISSING"}
    verdict, codes = _restore(source, drill_target, other, backup_id, tmp_path, "wrong")
    assert verdict == "failed" and "ENCRYPTION_KEY_WRONG" in codes, codes
    verdict, codes = _restore(source, drill_target, keyless, backup_id, tmp_path, "keyless")
    assert verdict == "failed" and "ENCRYPTION_KEY_MISSING" in codes, codes
    assert store.head(layout.quarantine_key(backup_id)) is None  # a key problem does not set the backup aside
    assert _restore(source, drill_target, store, backup_id, tmp_path, "right") == ("passed", [])

    manifest = read_manifest(store, layout, backup_id, signing_key=None)
    dump = max(manifest.objects, key=lambda entry: entry.size)
    assert dump.size > HEADER_BYTES + 2 * SEALED_CHUNK, dump
    key = layout.object_key(backup_id, dump.name)
    original = moto_s3.client.get_object(Bucket=store.bucket, Key=key)["Body"].read()
    # A changed byte keeps the size: the fetch's decryption catches it. A cut object is already refused by the
    # catalog (its listed size is not the manifest's) and the deep verify says where the stream ends.
    for name, change, drill_code in (
            ("flipped", lambda body: body[:HEADER_BYTES + 100] + bytes([body[HEADER_BYTES + 100] ^ 1])
             + body[HEADER_BYTES + 101:], "DECRYPT_FAILED"),
            ("cut", lambda body: body[:HEADER_BYTES + SEALED_CHUNK], "NO_VALID_BACKUP")):
        _rewrite(moto_s3, store, key, lambda _: change(original))
        verdict, codes = _restore(source, drill_target, store, backup_id, tmp_path, name)
        assert verdict == "failed" and drill_code in codes, (name, codes)
        deep = verify_backup(store, layout, backup_id, signing_key=None, deep=True)[1]
        assert [f.code for f in deep] == ["DECRYPT_FAILED"], (name, deep)
        if name == "flipped":
            assert store.head(layout.quarantine_key(backup_id)) is not None  # altered bytes indict the backup


def test_the_binlog_archive_is_stored_encrypted_and_fetched_through_the_key(source, moto_s3, drill_target,
                                                                            tmp_path: Path) -> None:
    store = _store(moto_s3, drill_target.storage.bucket)
    layout = layout_for(drill_target)
    with contextlib.closing(source.server.root_connect()) as connection:
        beat_once(connection, source.server.spec.server_id)
    result = archive_closed_binlogs(source.login, store, layout, work_dir=tmp_path / "archive")
    assert result["uploaded"] and result["findings"] == [], result
    key = result["server_key"]
    files = result["uploaded"]
    entries, _ = load_entries(store, BinlogLayout.of(layout), key)
    assert {entry.file: entry.encryption for entry in entries if entry.file in files} == {
        file: {"server_side": "aws:kms", "kms_key_id": KMS_KEY, **KEY.describe()} for file in files}
    paths = fetch_binlogs(store, layout, key, files, tmp_path / "fetched")  # checks the raw binlog's sha256 too
    assert [path.name for path in paths] == files and all(path.read_bytes()[:4] == b"\xfebin" for path in paths)
    assert {f.code for f in check_archive(store, layout, deep=True)} <= {"SECRET_IN_BINLOG"}

    wrong = S3ObjectStore(store.client, store.bucket, client_key=ClientKey(os.urandom(32), "Airflow connection 'x'"))
    with pytest.raises(BinlogArchiveError) as caught:
        fetch_binlogs(wrong, layout, key, files[:1], tmp_path / "fetched-wrong")
    assert [f.code for f in caught.value.findings] == ["ENCRYPTION_KEY_WRONG"]
    assert "ENCRYPTION_KEY_WRONG" in {f.code for f in check_archive(wrong, layout, deep=True)}
    keyless = S3ObjectStore(store.client, store.bucket)
    with pytest.raises(BinlogArchiveError) as caught:
        fetch_binlogs(keyless, layout, key, files[:1], tmp_path / "fetched-keyless")
    assert [f.code for f in caught.value.findings] == ["ENCRYPTION_KEY_MISSING"]
