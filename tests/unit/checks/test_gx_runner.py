"""The shared runner without a server: what stopped a run is a finding, the results JSON, lazy GX."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from drdrill.checks.gx_runner import RESULTS_FILE, SuiteRun, aware_utc, run_suite
from drdrill.findings import Finding

pytestmark = pytest.mark.unit

PASSWORD = "p@ss'w0rd%/x"
URL = "mysql+pymysql://drill:p%40ss%27w0rd%25%2Fx@127.0.0.1:3306/shop"


class FailingRun(SuiteRun):
    """A run whose server work raises an error that quotes the password."""

    title = "test validation"

    def execute(self) -> None:
        raise RuntimeError(f"lost connection using {PASSWORD}\ntraceback")


class PassingRun(SuiteRun):
    """A run that reads fixed results as if a checkpoint had returned them."""

    def __init__(self, results_dir: Path, results: list[Any], evaluated: int, successful: int) -> None:
        super().__init__(URL, results_dir, suite="t", run_name="r", schemas=["shop"])
        statistics = {"evaluated_expectations": evaluated, "successful_expectations": successful}
        self._checkpoint = SimpleNamespace(
            run_results={"v": SimpleNamespace(statistics=statistics, results=results)}
        )

    def execute(self) -> None:
        self._checkpoint_result = self._checkpoint
        self._map_results()
        self._checkpoint_result = None  # results_document then has no GX part to serialise

    def _result_findings(
        self, check: str, result: Any, meta: dict[str, Any], evidence: dict[str, Any]
    ) -> list[Finding]:
        return [] if result.success else [Finding("ROWCOUNT_MISMATCH", f"{evidence['subject']} failed")]


def run(tmp_path: Path, suite_run: SuiteRun) -> tuple[Any, dict[str, Any]]:
    outcome = run_suite(suite_run, 0.0)
    return outcome, json.loads((tmp_path / RESULTS_FILE).read_text())


def test_an_unparsable_url_could_not_be_verified_and_is_never_echoed(tmp_path: Path) -> None:
    suite_run = SuiteRun(f"not a url {PASSWORD}", tmp_path, suite="t", run_name="r", schemas=[])
    outcome, document = run(tmp_path, suite_run)
    (finding,) = outcome.findings
    assert finding.code == "COULD_NOT_VERIFY" and "not a valid SQLAlchemy URL" in finding.message
    assert outcome.evaluated == outcome.successful == 0 and outcome.data_docs_dir is None
    assert document["checkpoint"] is None and document["validation_results"] == []
    assert document["drdrill"]["server"] == "(unparsable URL)" and document["drdrill"]["findings"] == [
        finding.to_dict()
    ]
    assert PASSWORD not in (tmp_path / RESULTS_FILE).read_text()


def test_a_run_that_raised_could_not_be_verified_with_the_password_redacted(tmp_path: Path) -> None:
    outcome, document = run(tmp_path, FailingRun(URL, tmp_path, suite="t", run_name="r", schemas=["shop"]))
    (finding,) = outcome.findings
    assert finding.code == "COULD_NOT_VERIFY"
    assert finding.message == "The test validation could not run: RuntimeError: lost connection using ***"
    assert document["drdrill"]["server"] == "mysql+pymysql://drill:***@127.0.0.1:3306/shop"
    text = (tmp_path / RESULTS_FILE).read_text()
    assert PASSWORD not in text and "p%40ss%27w0rd%25%2Fx" not in text


def test_failed_results_become_findings_and_the_counts_are_kept(tmp_path: Path) -> None:
    results = [
        SimpleNamespace(
            success=ok,
            result={},
            exception_info={},
            expectation_config=SimpleNamespace(type="expect_x", meta={"drdrill": {"subject": s}}),
        )
        for ok, s in ((True, "shop.a"), (False, "shop.b"))
    ]
    outcome, document = run(tmp_path, PassingRun(tmp_path, results, 2, 1))
    assert [finding.message for finding in outcome.findings] == ["shop.b failed"]
    assert (outcome.evaluated, outcome.successful) == (2, 1)
    assert document["drdrill"]["evaluated"] == 2 and document["drdrill"]["successful"] == 1


def test_a_run_that_checked_nothing_could_not_be_verified(tmp_path: Path) -> None:
    outcome, _ = run(tmp_path, PassingRun(tmp_path, [], 0, 0))
    (finding,) = outcome.findings
    assert (
        finding.code == "COULD_NOT_VERIFY"
        and finding.message == "The validation checked nothing: no expectation ran."
    )


def test_every_schema_gets_its_own_url_variable_and_none_is_logged() -> None:
    suite_run = SuiteRun(URL, Path("results"), suite="t", run_name="r", schemas=["shop", "audit", "shop"])
    assert sorted(suite_run._environment) == [
        "DRDRILL_RESTORE_URL",
        "DRDRILL_RESTORE_URL_0",
        "DRDRILL_RESTORE_URL_1",
    ]
    assert suite_run._environment["DRDRILL_RESTORE_URL_0"].endswith("@127.0.0.1:3306/audit")
    assert suite_run._environment["DRDRILL_RESTORE_URL"].endswith("/information_schema")


def test_a_moment_is_made_plain_utc_and_a_naive_one_refused() -> None:
    plus_two = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert aware_utc(plus_two, "t", "e.g.") == datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
    assert aware_utc(plus_two, "t", "e.g.").tzinfo is timezone.utc
    with pytest.raises(ValueError, match="disaster_at must be timezone-aware"):
        aware_utc(datetime(2026, 1, 1), "disaster_at", "e.g. the run's logical_date")


def test_great_expectations_is_not_imported_with_the_suites() -> None:
    code = (
        "import sys, drdrill.checks.restore_suite, drdrill.checks.pitr_suite, drdrill.checks.gx_runner; "
        "print('great_expectations' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
