"""The restore suite without a server: arguments checked, RPO and missing-table findings both ways."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill.checks.restore_suite import RestoreSuiteRun, validate_restore
from drdrill.checks.result_findings import expectation_meta
from drdrill.checks.suite_definition import load_suite_definition
from drdrill.config import Heartbeat
from drdrill.errors import ConfigError
from drdrill.findings import Finding
from drdrill.storage.manifest import Inventory, TableFacts
from tests.helpers.gx_results import expectation_result
from tests.helpers.manifests import sample_manifest

pytestmark = pytest.mark.unit

DISASTER = datetime(2026, 1, 1, 11, 0, tzinfo=timezone.utc)
RPO = timedelta(minutes=15)
HEARTBEAT = Heartbeat("shop", "heartbeat", "beat_at")
MANIFEST = sample_manifest(
    backup_id="20260101T100000Z-a1b2c3",
    tables=(
        TableFacts("shop", "orders", 3, "123", ("id",), ("id",)),
        TableFacts("shop", "heartbeat", 30, "456", ("beat_at",), ("beat_at",)),
    ),
    inventory=Inventory(tables=("shop.heartbeat", "shop.orders")),
)


def restore_run(**changes: Any) -> RestoreSuiteRun:
    arguments: dict[str, Any] = {
        "manifest": MANIFEST,
        "definition": load_suite_definition(),
        "disaster_at": DISASTER,
        "rpo_objective": RPO,
        "heartbeat": HEARTBEAT,
    }
    return RestoreSuiteRun("not a url", Path("results"), **{**arguments, **changes})


def rpo_result(success: bool, newest: datetime | None) -> Any:
    meta = expectation_meta(
        "rpo",
        "shop.heartbeat.beat_at",
        table="shop.heartbeat",
        column="beat_at",
        rpo_objective_seconds=RPO.total_seconds(),
    )
    observed = None if newest is None else newest.replace(tzinfo=None)
    return expectation_result(
        "expect_column_max_to_be_between", meta, success=success, result={"observed_value": observed}
    )


def rpo_findings(run: RestoreSuiteRun, result: Any) -> list[Any]:
    meta = result.expectation_config.meta["drdrill"]
    return run._result_findings("rpo", result, meta, {"check": "rpo"})


def test_a_fresh_heartbeat_is_within_the_rpo_and_is_the_newest_heartbeat() -> None:
    run = restore_run()
    newest = DISASTER - timedelta(minutes=5)
    assert rpo_findings(run, rpo_result(True, newest)) == []
    assert run.newest_heartbeat == newest


def test_a_stale_heartbeat_exceeds_the_rpo_with_the_measured_rpo() -> None:
    run = restore_run()
    (finding,) = rpo_findings(run, rpo_result(False, DISASTER - timedelta(hours=1)))
    assert finding.code == "RPO_EXCEEDED" and finding.evidence["measured_rpo_seconds"] == 3600.0
    assert finding.message == (
        "The newest heartbeat in the restore (shop.heartbeat.beat_at) is 2026-01-01 10:00:00 UTC, 1h before the "
        "disaster at 2026-01-01 11:00:00 UTC: measured RPO 1h exceeds the objective of 15m."
    )


def test_no_heartbeat_recovered_exceeds_the_rpo() -> None:
    (finding,) = rpo_findings(restore_run(), rpo_result(False, None))
    assert finding.code == "RPO_EXCEEDED" and finding.message.startswith(
        "No heartbeat recovered: shop.heartbeat has no rows in the restore"
    )


def test_a_missing_table_no_inventory_named_is_reported_once() -> None:
    run = restore_run()
    run._missing_tables = ["shop.orders", "shop.heartbeat"]
    run.findings.append(
        Finding(
            "TABLE_MISSING",
            "Table shop.orders is in the manifest but not in the restored server.",
            evidence={"object": "shop.orders", "kind": "tables"},
        )
    )
    run.finish()
    assert [(f.code, f.evidence["object"]) for f in run.findings] == [
        ("TABLE_MISSING", "shop.orders"),
        ("TABLE_MISSING", "shop.heartbeat"),
    ]
    assert run.findings[1].message == (
        "Table shop.heartbeat is in the manifest but not in the restored server; its row count, checksum and key "
        "checks were not attempted."
    )


def test_without_missing_tables_finish_adds_nothing() -> None:
    run = restore_run()
    run.finish()
    assert run.findings == []


def test_an_unparsable_url_could_not_be_verified_and_the_document_says_what_was_asked(tmp_path: Path) -> None:
    outcome = validate_restore(
        "not a url",
        MANIFEST,
        results_dir=tmp_path,
        disaster_at=DISASTER,
        rpo_objective=RPO,
        heartbeat=HEARTBEAT,
    )
    assert [finding.code for finding in outcome.findings] == ["COULD_NOT_VERIFY"]
    drdrill = json.loads(outcome.results_json.read_text())["drdrill"]
    assert drdrill["backup_id"] == MANIFEST.backup_id and drdrill["target"] == "shop"
    assert drdrill["definition"] == load_suite_definition() and drdrill["server"] == "(unparsable URL)"


def test_a_naive_disaster_time_and_a_bad_definition_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="disaster_at must be timezone-aware"):
        validate_restore(
            "x",
            MANIFEST,
            results_dir=tmp_path,
            disaster_at=DISASTER.replace(tzinfo=None),
            rpo_objective=RPO,
            heartbeat=HEARTBEAT,
        )
    with pytest.raises(ConfigError, match="rpo: is missing"):
        validate_restore(
            "x",
            MANIFEST,
            results_dir=tmp_path,
            disaster_at=DISASTER,
            rpo_objective=RPO,
            heartbeat=HEARTBEAT,
            definition={"suite": "t", "table_checks": [], "inventory": [], "definitions": []},
        )
