"""The manifest's JSON form: a round trip keeps everything; anything incomplete is refused, so the backup does not count."""

from __future__ import annotations

import json

import pytest

from drdrill.storage.manifest import BinlogPosition, Manifest, ManifestError, ObjectEntry, SchemaObject
from tests.helpers.manifests import sample_manifest

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
    data = json.loads(sample_manifest().to_json())
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
    with pytest.raises(ManifestError):
        Manifest.from_json(json.dumps(data))
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
        Manifest.from_json(json.dumps(data), where="s3://b/k/manifest.json")
