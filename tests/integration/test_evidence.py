"""Evidence bundles of real drills: written by the record step next to the backup, verified by `drdrill evidence
verify` (exit 0 intact, 1 tampered naming the part, 2 not found), and a bundle that cannot be stored is no green."""

from __future__ import annotations

import json

import pytest

from drdrill.drills.layouts import layout_for
from drdrill.history import DrillRecord
from drdrill.storage.evidence import local_trigger, verify_evidence, with_evidence
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.drill_helpers import shop_target, store_for
from tests.integration.test_cli import run
from tests.integration.test_restore_drill import drill

pytestmark = pytest.mark.integration


def verify(run_id: str) -> tuple[int, dict]:
    done = run("evidence", "verify", run_id, "--json")
    return done.returncode, json.loads(done.stdout or "{}")


def test_a_backup_drills_bundle_verifies_and_a_changed_byte_names_its_part(sandbox) -> None:
    done = run("backup", "shop", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout)
    key = record["details"]["evidence_key"]
    assert key.startswith(layout_for(shop_target()).backup_root(record["backup_id"]))  # deleted with the backup
    assert verify(record["run_id"]) == (0, {"run_id": record["run_id"], "bundles": [
        {"run_id": record["run_id"], "target": "shop", "drill": "backup", "evidence_key": key, "found": True,
         "intact": True, "tampered": []}]})

    store = store_for(sandbox, shop_target())
    original = store.get_bytes(key) or b""
    trigger = json.loads(original)["parts"]["trigger"]
    assert (trigger["type"], trigger["via"]) == ("manual", "drdrill command line")
    assert original.count(b'"dump_and_upload"') == 1
    store.put_bytes(key, original.replace(b'"dump_and_upload"', b'"dump_and_uploaD"'))  # one byte, in part "steps"
    code, verified = verify(record["run_id"])
    assert (code, verified["bundles"][0]["tampered"]) == (1, ["steps"])
    assert "TAMPERED: steps no longer matches its hash" in run("evidence", "verify", record["run_id"]).stdout
    store.put_bytes(key, original)
    assert verify_evidence(store, record["details"]).tampered == []  # as written: intact again
    store.delete(key)
    assert verify(record["run_id"])[0] == 2


def test_a_restore_drills_bundle_holds_the_backup_and_gx_results_and_verifies(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, manifest = fresh_backup
    record, codes = drill(sandbox, shop_target(), tmp_path, backup_id)
    assert (record.verdict, codes) == ("passed", [])
    store = store_for(sandbox, shop_target())
    bundle = json.loads(store.get_bytes(record.details["evidence_key"]) or b"")
    assert bundle["parts"]["backup"]["tool_version"] == manifest.tool_version
    assert bundle["parts"]["validation"]["results_uri"] == record.details["results_uri"]
    assert bundle["parts"]["verdict"]["rto_met"] is True
    assert verify_evidence(store, record.details).tampered == []
    docs = record.details["data_docs_uri"].removeprefix(f"s3://{store.bucket}/").removesuffix("index.html")
    stored_docs = [stored.key for stored in store.list_objects(docs)]
    assert docs + "index.html" in stored_docs
    assert not [key for key in stored_docs if key.rsplit(".", 1)[-1] in ("woff", "woff2", "ttf", "png", "jpg", "svg")]


def test_a_bundle_that_cannot_be_stored_makes_the_drill_could_not_verify(sandbox) -> None:
    record = DrillRecord(run_id="evidence-unstored", target="shop", drill="restore", verdict="passed",
                         started_at="2026-11-21T12:00:00+00:00", finished_at="2026-11-21T12:01:00+00:00")
    missing_bucket = S3ObjectStore(sandbox.sandbox.s3_client(), "drdrill-no-such-bucket")
    written, findings = with_evidence(lambda: missing_bucket, layout_for(shop_target()), record, [], trigger=local_trigger())
    assert (written.verdict, [finding.code for finding in findings]) == ("could_not_verify", ["EVIDENCE_NOT_STORED"])
    assert "evidence_key" not in written.details
    healthy, none = with_evidence(lambda: store_for(sandbox, shop_target()), layout_for(shop_target()), record, [],
                                  trigger=local_trigger())
    assert (healthy.verdict, none) == ("passed", []) and healthy.details["evidence_key"]
