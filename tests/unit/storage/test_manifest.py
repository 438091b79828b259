"""The manifest's JSON form: a round trip keeps everything; anything incomplete is refused, so the backup does not count;
an edit after writing breaks its seal (digest, signature) and is refused as corrupt."""

from __future__ import annotations

import json

import pytest

from drdrill.errors import DrdrillError
from drdrill.storage.manifest import (FORMAT_VERSION, SEALED, SIGNATURE_NOT_CHECKED, SIGNED, UNSEALED, BinlogPosition,
                                      Manifest, ManifestCorrupt, ManifestError, ObjectEntry, SchemaObject,
                                      read_manifest)
from drdrill.storage.layout import TargetLayout
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.seal import SigningKey, sealed
from tests.helpers.manifests import resealed, sample_manifest, unsealed_format_1

pytestmark = pytest.mark.unit


def test_manifest_round_trips_through_json() -> None:
    original = sample_manifest(catchup=ObjectEntry("catchup.sql.zst", "catchup", 5, "cd" * 32),
                           facts_point=BinlogPosition("mysql-bin.000002", 900, "0-1-8"),
                           schema=(SchemaObject("views", "shop.v", "ef" * 32, "definition: select 1"),
                                   SchemaObject("routines", "shop.f (FUNCTION)", "", None)))
    again = Manifest.from_json(original.to_json())
    assert again == original
    assert json.loads(original.to_json())["facts_match_consistent_point"] is False
    assert [o.name for o in again.all_objects()] == ["dump.sql.zst", "catchup.sql.zst"]
    assert [o.readable for o in again.schema] == [True, False]


def test_a_manifest_written_before_schema_fingerprints_reads_with_none() -> None:
    data = json.loads(unsealed_format_1(sample_manifest()))  # such manifests were format 1: no digest either
    del data["schema"]
    assert Manifest.from_json(json.dumps(data)).schema == ()


def test_facts_match_the_consistent_point_when_taken_there() -> None:
    assert sample_manifest().facts_match_consistent_point
    assert json.loads(sample_manifest().to_json())["facts_match_consistent_point"] is True
    assert sample_manifest().consistent_point.label() == "mysql-bin.000002:600 (gtid 0-1-6)"


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("tables"),
    lambda d: d.update(complete=False),
    lambda d: d.update(format_version=99),
    lambda d: d.update(objects=[]),
    lambda d: d["consistent_point"].pop("position"),
    lambda d: d.clear() or d.update({"format_version": 1, "complete": True}),
])
def test_an_incomplete_manifest_is_rejected(breakage) -> None:
    data = json.loads(sample_manifest().to_json())
    breakage(data)
    with pytest.raises(ManifestError) as raised:
        Manifest.from_json(resealed(data))  # sealed as written: refused for what it says, not for its seal
    assert raised.value.code == "MANIFEST_INVALID"
    with pytest.raises(ManifestError):
        Manifest.from_json(b'{"truncated": ')


@pytest.mark.parametrize("not_an_object", [b"[]", b'"manifest"', b"42", b"null"])
def test_json_that_is_not_an_object_is_a_manifest_error(not_an_object: bytes) -> None:
    with pytest.raises(ManifestError, match="not a JSON object"):
        Manifest.from_json(not_an_object)


def test_the_error_names_where_the_manifest_came_from() -> None:
    data = json.loads(sample_manifest().to_json())
    data["complete"] = False
    with pytest.raises(ManifestError, match="s3://b/k/manifest.json: the manifest is marked incomplete"):
        Manifest.from_json(resealed(data), where="s3://b/k/manifest.json")


KEY = SigningKey(b"k" * 40, source="Airflow connection 'shop_manifest_key'")
OTHER_KEY = SigningKey(b"o" * 40, source="Airflow connection 'shop_manifest_key'")


def corrupt_error(text: str, signing_key: SigningKey | None = None) -> ManifestCorrupt:
    with pytest.raises(ManifestCorrupt) as raised:
        Manifest.from_json(text, where="s3://b/shop/full/x/manifest.json", signing_key=signing_key)
    assert raised.value.code == "MANIFEST_CORRUPT" and "s3://b/shop/full/x/manifest.json" in raised.value.problem
    return raised.value


def test_a_written_manifest_carries_the_digest_of_its_content_and_reads_back_sealed() -> None:
    text = sample_manifest().to_json()
    data = json.loads(text)
    assert data["format_version"] == FORMAT_VERSION == 2 and data["digest"].startswith("sha256:")
    assert "signature" not in data
    again = Manifest.from_json(text)
    assert again.seal == SEALED and again.digest == data["digest"]
    assert Manifest.from_json(json.dumps(data)).seal == SEALED  # layout and key order are not content


@pytest.mark.parametrize("edit", [
    lambda d: d["tables"][0].update(rows=4),
    lambda d: d["tables"][0].update(checksum="124"),
    lambda d: d["objects"][0].update(sha256="cd" * 32),
    lambda d: d["objects"][0].update(size=11),
    lambda d: d["consistent_point"].update(gtid="0-1-7"),
    lambda d: d["inventory"].update(views=["shop.v"]),
    lambda d: d.update(databases=["shop", "billing"]),
    lambda d: d.update(facts_match_consistent_point=False),
    lambda d: d["extra"].update(server_key="2-bbbbbbbb"),
    lambda d: d.update(format_version=1),
    lambda d: d.update(added="a key the writer never wrote"),
    lambda d: d.update(digest="sha256:" + "0" * 64),
])
def test_any_edit_after_writing_makes_the_manifest_corrupt(edit) -> None:
    data = json.loads(sample_manifest().to_json())
    edit(data)
    error = corrupt_error(json.dumps(data))
    assert "digest check failed" in error.problem and "changed after it was written" in error.problem
    assert "cannot be trusted" in (error.fix or "")


def test_a_stripped_digest_is_corrupt() -> None:
    data = json.loads(sample_manifest().to_json())
    del data["digest"]
    assert "has no digest" in corrupt_error(json.dumps(data)).problem


def test_a_format_1_manifest_reads_as_unsealed_without_signing_and_is_refused_with_it() -> None:
    old = unsealed_format_1(sample_manifest())
    assert "digest" not in json.loads(old)
    manifest = Manifest.from_json(old)
    assert manifest == sample_manifest(format_version=1) and manifest.seal == UNSEALED
    error = corrupt_error(old, KEY)
    assert "signature check failed" in error.problem and "has no signature" in error.problem
    assert "written before signing was enabled" in (error.fix or "")


def test_a_signed_manifest_reads_back_signed_with_its_key_and_never_holds_the_key() -> None:
    text = sample_manifest().to_json(KEY)
    assert json.loads(text)["signature"].startswith("hmac-sha256:")
    assert KEY.secret.decode() not in text
    assert Manifest.from_json(text, signing_key=KEY).seal == SIGNED
    assert Manifest.from_json(text).seal == SIGNATURE_NOT_CHECKED  # a reader without the key checks the digest


def test_a_wrong_key_or_a_missing_signature_is_corrupt_and_says_signature() -> None:
    signed = sample_manifest().to_json(KEY)
    error = corrupt_error(signed, OTHER_KEY)
    assert "signature check failed" in error.problem and "another key" in error.problem
    assert "shop_manifest_key" in error.problem and OTHER_KEY.secret.decode() not in str(error)
    stripped = json.loads(signed)
    del stripped["signature"]
    assert "has no signature" in corrupt_error(json.dumps(stripped), KEY).problem
    assert "has no signature" in corrupt_error(sample_manifest().to_json(), KEY).problem


def test_an_edit_with_a_recomputed_digest_is_caught_by_the_signature() -> None:
    data = json.loads(sample_manifest().to_json(KEY))
    data["tables"][0]["rows"] = 4
    forged = {**sealed(data, None), "signature": data["signature"]}  # anyone can recompute a sha256, not the HMAC
    assert Manifest.from_json(json.dumps(forged)).tables[0].rows == 4  # the digest alone cannot tell
    assert "signature check failed" in corrupt_error(json.dumps(forged), KEY).problem


def test_a_signing_key_is_long_and_never_shown() -> None:
    assert "k" * 40 not in repr(KEY)
    with pytest.raises(DrdrillError, match="is 8 bytes long; at least 32"):
        SigningKey(b"short-ky", source="Airflow connection 'k'")


def test_a_manifest_read_from_another_backups_folder_is_corrupt() -> None:
    store, layout = MemoryObjectStore(), TargetLayout("p", "shop")
    manifest = sample_manifest()
    store.put_bytes(layout.manifest_key(manifest.backup_id), manifest.to_json().encode())
    assert read_manifest(store, layout, manifest.backup_id, signing_key=None) == manifest
    newer = "20261221T083012Z-ffffff"  # the same sealed manifest (and objects) copied under a newer id
    store.put_bytes(layout.manifest_key(newer), manifest.to_json().encode())
    with pytest.raises(ManifestCorrupt, match="describes backup 20261121T083012Z-a1b2c3 of target shop, not the folder"):
        read_manifest(store, layout, newer, signing_key=None)
    billing = TargetLayout("p", "billing")  # copied into another target's folders
    store.put_bytes(billing.manifest_key(manifest.backup_id), manifest.to_json().encode())
    with pytest.raises(ManifestCorrupt, match="not the folder it is in"):
        read_manifest(store, billing, manifest.backup_id, signing_key=None)
