"""The PITR suite without a server: its arguments are checked, and what a missing table or a result means."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill.checks.pitr_suite import PitrSuiteRun, validate_pitr_boundary
from drdrill.checks.result_findings import expectation_meta
from drdrill.config import Heartbeat
from tests.helpers.gx_results import expectation_result

pytestmark = pytest.mark.unit

TARGET = datetime(2026, 1, 1, 10, 0, 5, tzinfo=timezone.utc)
HEARTBEAT = Heartbeat("shop", "heartbeat", "beat_at")


def pitr_run(expected_before: int = 5, markers: tuple[str, str] | None = None) -> PitrSuiteRun:
    return PitrSuiteRun(
        "not a url",
        Path("results"),
        heartbeat=HEARTBEAT,
        target_time=TARGET,
        expected_before=expected_before,
        markers=markers,
    )


def gx_result(check: str, success: bool, result: dict[str, Any]) -> Any:
    meta = expectation_meta(
        check,
        "shop.heartbeat.beat_at",
        table="shop.heartbeat",
        column="beat_at",
        target_time=TARGET.isoformat(),
    )
    return expectation_result("expect_x", meta, success=success, result=result)


def read(run: PitrSuiteRun, result: Any) -> list[Any]:
    meta = result.expectation_config.meta["drdrill"]
    return run._result_findings(meta["check"], result, meta, {"check": meta["check"]})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target_time": TARGET.replace(tzinfo=None)}, "target_time must be timezone-aware"),
        ({"target_time": TARGET + timedelta(microseconds=1)}, "is not a whole second"),
        ({"expected_before": -1}, "expected_before must be a row count"),
        ({"expected_before": True}, "expected_before must be a row count"),
        ({"markers": ("same", "same")}, "markers must be two different non-empty labels"),
        ({"markers": ("before", "")}, "markers must be two different non-empty labels"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "heartbeat": HEARTBEAT,
        "target_time": TARGET,
        "expected_before": 5,
        "results_dir": tmp_path,
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        validate_pitr_boundary("mysql+pymysql://u:p@127.0.0.1/shop", **arguments)


def test_an_unparsable_url_could_not_be_verified_and_the_document_says_what_was_asked(tmp_path: Path) -> None:
    outcome = validate_pitr_boundary(
        "not a url",
        heartbeat=HEARTBEAT,
        target_time=TARGET,
        expected_before=5,
        results_dir=tmp_path,
        markers=["b", "a"],
    )  # type: ignore[arg-type]
    assert [finding.code for finding in outcome.findings] == ["COULD_NOT_VERIFY"]
    drdrill = json.loads(outcome.results_json.read_text())["drdrill"]
    assert drdrill.pop("seconds") >= 0 and len(drdrill.pop("findings")) == 1
    assert drdrill == {
        "heartbeat": "shop.heartbeat.beat_at",
        "target_time": "2026-01-01T10:00:05+00:00",
        "expected_before": 5,
        "markers": {"before": "b", "after": "a"},
        "server": "(unparsable URL)",
        "evaluated": 0,
        "successful": 0,
        "newest_heartbeat": None,
        "timings": {},
        "great_expectations_preloaded": False,  # the run stopped before it reached Great Expectations
    }


def test_the_run_is_named_after_the_target() -> None:
    assert pitr_run().run_name == "pitr-20260101T100005Z"


def test_the_newest_heartbeat_is_observed_and_is_no_finding() -> None:
    run = pitr_run()
    assert read(run, gx_result("pitr_newest", True, {"observed_value": "2026-01-01T10:00:04"})) == []
    assert run.newest_heartbeat == datetime(2026, 1, 1, 10, 0, 4, tzinfo=timezone.utc)


def test_a_replay_past_the_target_is_a_wrong_boundary_and_an_exact_one_is_not() -> None:
    rows = {"details": {"unexpected_rows": [{"rows_after": 2, "newest_after": "2026-01-01T10:00:06"}]}}
    (finding,) = read(pitr_run(), gx_result("pitr_after", False, rows))
    assert (
        finding.code == "PITR_BOUNDARY_WRONG"
        and "2 rows committed after the target are present" in finding.message
    )
    assert read(pitr_run(), gx_result("pitr_after", True, {})) == []


def test_a_missing_heartbeat_table_is_a_wrong_boundary_when_rows_were_expected() -> None:
    run = pitr_run(expected_before=5)
    run._report_missing_heartbeat_table()
    (finding,) = run.findings
    assert finding.code == "PITR_BOUNDARY_WRONG"
    assert finding.message == (
        "Rows committed before the target 2026-01-01 10:00:05 UTC are missing: the heartbeat table "
        "shop.heartbeat is not in the recovered server (expected 5 rows, found none)."
    )


def test_a_missing_heartbeat_table_could_not_be_verified_when_none_were_expected() -> None:
    run = pitr_run(expected_before=0)
    run._report_missing_heartbeat_table()
    (finding,) = run.findings
    assert finding.code == "COULD_NOT_VERIFY" and "PITR boundary not checked by heartbeats" in finding.message
