"""GX results read as findings: a pass gives none, a failure the right one, a raised one COULD_NOT_VERIFY.

The results are Great Expectations' own ``ExpectationValidationResult`` objects, shaped as a checkpoint
returns them, so the translation is tested against the real attribute layout.
"""

from __future__ import annotations

from typing import Any

import pytest

from drdrill.checks.result_findings import (
    checksum_finding,
    expectation_meta,
    failure_findings,
    findings_for_result,
    inventory_findings,
    marker_finding,
    not_null_key_finding,
    raised_exception,
    row_count_finding,
    rows_after_target_finding,
    rows_before_target_finding,
    unique_key_finding,
)
from drdrill.findings import Finding
from tests.helpers.gx_results import expectation_result as gx_result

pytestmark = pytest.mark.unit

BUILDERS = {
    "row_count": row_count_finding,
    "checksum": checksum_finding,
    "primary_key_unique": unique_key_finding,
    "primary_key_not_null": not_null_key_finding,
    "inventory": inventory_findings,
    "pitr_after": rows_after_target_finding,
    "pitr_before": rows_before_target_finding,
    "pitr_marker_before": marker_finding,
    "pitr_marker_after": marker_finding,
}
TARGET = "2026-01-01T10:00:05+00:00"
PASSWORD = "s3cr%t"

def read(check: str, result: Any, meta: dict[str, Any], evidence: dict[str, Any]) -> list[Finding]:
    return failure_findings(BUILDERS, check, result, meta, evidence)


def findings(result: Any) -> list[Finding]:
    return findings_for_result(result, read, lambda text: text.replace(PASSWORD, "***"))


def row_count(success: bool, observed: int | None) -> Any:
    meta = expectation_meta("row_count", "shop.orders", expected_rows=1000)
    return gx_result(
        "expect_table_row_count_to_equal", meta, success=success, result={"observed_value": observed}
    )


def test_a_passed_expectation_gives_no_finding() -> None:
    assert findings(row_count(True, 1000)) == []


def test_a_failed_row_count_is_a_rowcount_mismatch_with_the_evidence() -> None:
    (finding,) = findings(row_count(False, 990))
    assert finding.code == "ROWCOUNT_MISMATCH"
    assert finding.message == "shop.orders: the restore has 990 rows, the manifest says 1,000 (10 fewer)."
    assert finding.evidence == {
        "expectation_type": "expect_table_row_count_to_equal",
        "check": "row_count",
        "subject": "shop.orders",
        "expected": {"expected_rows": 1000},
        "observed": {"observed_value": 990},
    }
    (unread,) = findings(row_count(False, None))
    assert (
        unread.message
        == "shop.orders: the row count could not be read from the restore; the manifest says 1,000 rows."
    )


def test_an_expectation_that_raised_could_not_be_verified_with_the_password_redacted() -> None:
    raised = gx_result(
        "expect_table_row_count_to_equal",
        expectation_meta("row_count", "shop.orders", expected_rows=1000),
        success=False,
        exception_info={"raised_exception": True, "exception_message": f"Access denied ({PASSWORD})\nmore"},
    )
    (finding,) = findings(raised)
    assert finding.code == "COULD_NOT_VERIFY" and finding.verdict == "could_not_verify"
    assert finding.message == (
        "shop.orders: the row count check could not be evaluated (expect_table_row_count_to_equal): Access denied (***)"
    )
    assert finding.evidence["error"] == "Access denied (***)\nmore" and PASSWORD not in str(finding.evidence)


def test_a_metric_that_raised_could_not_be_verified_even_when_gx_says_success() -> None:
    info = {
        ("table.row_count", "()", "()"): {"raised_exception": True, "exception_message": "Unknown column"}
    }
    result = gx_result(
        "expect_table_row_count_to_equal",
        expectation_meta("row_count", "shop.orders", expected_rows=1),
        success=True,
        exception_info=info,
    )
    assert raised_exception(result) == "Unknown column"
    assert [finding.code for finding in findings(result)] == ["COULD_NOT_VERIFY"]
    assert raised_exception(row_count(True, 1)) is None


def test_a_failure_drdrill_cannot_read_could_not_be_verified() -> None:
    (finding,) = findings(
        gx_result("expect_something", expectation_meta("new_check", "shop.t"), success=False)
    )
    assert finding.code == "COULD_NOT_VERIFY"
    assert (
        finding.message == "shop.t: expectation expect_something failed and drdrill cannot say what it means."
    )
    (unmarked,) = findings(gx_result("expect_something", {}, success=False))
    assert unmarked.code == "COULD_NOT_VERIFY" and unmarked.evidence["subject"] == "?"


def test_a_checksum_mismatch_names_both_checksums() -> None:
    meta = expectation_meta("checksum", "shop.orders", expected_checksum="42", expected_rows=1000)
    rows = {"details": {"unexpected_rows": [{"restored_rows": 1000, "restored_checksum": "41"}]}}
    (finding,) = findings(
        gx_result("expect_table_checksum_to_match_manifest", meta, success=False, result=rows)
    )
    assert finding.code == "CHECKSUM_MISMATCH" and finding.evidence["restored_checksum"] == "41"
    assert finding.message == (
        "shop.orders: the restored content checksum is 41 over 1,000 rows; the manifest says 42 over 1,000 rows."
    )
    (unread,) = findings(gx_result("expect_table_checksum_to_match_manifest", meta, success=False))
    assert "checksum differs;" in unread.message and unread.evidence["restored_checksum"] is None
    assert findings(gx_result("expect_table_checksum_to_match_manifest", meta, success=True)) == []


def test_key_violations_name_the_key_and_examples() -> None:
    unique = expectation_meta("primary_key_unique", "shop.lines", primary_key=["order_id", "line"])
    counts = {
        "unexpected_count": 4,
        "element_count": 100,
        "partial_unexpected_counts": [{"value": [7, 1], "count": 2}, {"value": [9, 3], "count": 2}],
    }
    (finding,) = findings(
        gx_result("expect_compound_columns_to_be_unique", unique, success=False, result=counts)
    )
    assert finding.code == "PRIMARY_KEY_VIOLATION"
    assert finding.message == (
        "shop.lines: primary key (order_id, line) is not unique in the restore: 4 of 100 rows share a key value, "
        "e.g. (order_id=7, line=1) x2; (order_id=9, line=3) x2."
    )
    not_null = expectation_meta("primary_key_not_null", "shop.lines", primary_key=["id"], column="id")
    (null,) = findings(
        gx_result(
            "expect_column_values_to_not_be_null", not_null, success=False, result={"unexpected_count": 1}
        )
    )
    assert null.message == "shop.lines: primary-key column id is NULL in 1 of ? rows of the restore."
    assert findings(gx_result("expect_column_values_to_not_be_null", not_null, success=True)) == []


def test_each_missing_object_is_one_finding_and_unnamed_ones_are_counted() -> None:
    views = expectation_meta("inventory", "views", kind="views", expected=["shop.v1", "shop.v2"])
    result = {"partial_missing_list": ["shop.v2"], "missing_count": 3}
    found = findings(
        gx_result("expect_column_distinct_values_to_contain_set", views, success=False, result=result)
    )
    assert [(f.code, f.message) for f in found] == [
        ("OBJECT_MISSING", "View shop.v2 is in the manifest but not in the restored server."),
        (
            "OBJECT_MISSING",
            "2 more views of the manifest are not in the restored server "
            "(Great Expectations did not name them).",
        ),
    ]
    assert found[0].evidence["object"] == "shop.v2"
    tables = expectation_meta("inventory", "tables", kind="tables", expected=["shop.t"])
    (table,) = findings(
        gx_result(
            "expect_column_distinct_values_to_contain_set",
            tables,
            success=False,
            result={"partial_missing_list": ["shop.t"], "missing_count": 1},
        )
    )
    assert table.code == "TABLE_MISSING" and table.evidence["kind"] == "tables"


def pitr_meta(check: str, **values: Any) -> dict[str, Any]:
    return expectation_meta(
        check,
        "shop.heartbeat.beat_at",
        table="shop.heartbeat",
        column="beat_at",
        target_time=TARGET,
        **values,
    )


def test_rows_after_the_target_are_a_wrong_boundary() -> None:
    rows = {"details": {"unexpected_rows": [{"rows_after": 1, "newest_after": "2026-01-01T10:00:07"}]}}
    (finding,) = findings(
        gx_result("expect_no_rows_after_recovery_target", pitr_meta("pitr_after"), success=False, result=rows)
    )
    assert finding.code == "PITR_BOUNDARY_WRONG"
    assert finding.message == (
        "shop.heartbeat: 1 row committed after the target is present (target 2026-01-01 10:00:05 UTC, "
        "newest 2026-01-01 10:00:07 UTC): the recovery replayed past its target."
    )
    assert (
        finding.evidence["rows_after"] == 1
        and finding.evidence["newest_after"] == "2026-01-01T10:00:07+00:00"
    )
    (unread,) = findings(
        gx_result("expect_no_rows_after_recovery_target", pitr_meta("pitr_after"), success=False)
    )
    assert unread.message.startswith("shop.heartbeat: Rows committed after the target are present (target ")
    assert (
        findings(gx_result("expect_no_rows_after_recovery_target", pitr_meta("pitr_after"), success=True))
        == []
    )


def test_rows_before_the_target_that_differ_are_a_wrong_boundary_either_way() -> None:
    meta = pitr_meta("pitr_before", expected_before=5)

    def before(found: int | None) -> Finding:
        rows = {"details": {"unexpected_rows": [{} if found is None else {"rows_before": found}]}}
        (finding,) = findings(
            gx_result("expect_rows_before_recovery_target_to_match_source", meta, success=False, result=rows)
        )
        return finding

    assert before(4).message == (
        "shop.heartbeat: rows committed before the target 2026-01-01 10:00:05 UTC are missing: expected 5, found 4."
    )
    assert before(6).message == (
        "shop.heartbeat: more rows committed before the target 2026-01-01 10:00:05 UTC than the source had: "
        "expected 5, found 6."
    )
    assert (
        before(None).message.endswith("expected 5, found ?.") and before(None).evidence["rows_before"] is None
    )
    assert findings(gx_result("expect_rows_before_recovery_target_to_match_source", meta, success=True)) == []


def test_markers_on_the_wrong_side_are_a_wrong_boundary() -> None:
    table = "shop.drdrill_pitr_markers"
    before = expectation_meta("pitr_marker_before", table, marker="b", table=table, target_time=TARGET)
    after = expectation_meta("pitr_marker_after", table, marker="a", table=table, target_time=TARGET)
    (missing,) = findings(gx_result("expect_column_distinct_values_to_contain_set", before, success=False))
    (present,) = findings(gx_result("expect_column_values_to_not_be_in_set", after, success=False))
    assert missing.message == (
        "Marker 'b', written before the target 2026-01-01 10:00:05 UTC, is missing from shop.drdrill_pitr_markers."
    )
    assert present.message == (
        "Marker 'a', written after the target 2026-01-01 10:00:05 UTC, is present in shop.drdrill_pitr_markers."
    )
    assert {missing.code, present.code} == {"PITR_BOUNDARY_WRONG"} and present.evidence["marker"] == "a"
    assert findings(gx_result("expect_column_values_to_not_be_in_set", after, success=True)) == []


def test_one_pass_over_a_table_names_only_what_differs_count_checksum_or_both() -> None:
    meta = expectation_meta("checksum", "shop.orders", expected_checksum="123", expected_rows=10, counts_rows=True)["drdrill"]

    def codes(rows: int, checksum: str) -> list[str]:
        result = {"details": {"unexpected_rows": [{"restored_rows": rows, "restored_checksum": checksum}]}}
        return [finding.code for finding in checksum_finding(meta, result, {})]

    assert codes(9, "99") == ["ROWCOUNT_MISMATCH", "CHECKSUM_MISMATCH"]
    assert codes(10, "99") == ["CHECKSUM_MISMATCH"]
    assert codes(9, "123") == ["ROWCOUNT_MISMATCH"]
