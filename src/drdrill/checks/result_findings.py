"""GX results read as findings: none for a pass, one per failure, COULD_NOT_VERIFY when one raised.

Every expectation a suite builds carries ``meta={"drdrill": {"check": …, "subject": …, …}}``
(``expectation_meta``); the finding builders here read what the check expected from it and what the
server held from the result. An inventory expectation gives one finding per missing object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from drdrill.checks.evidence import as_utc_datetime, first_line, json_safe, utc_label
from drdrill.findings import Finding

# (meta, result, evidence) -> the findings of one failed expectation
FindingBuilder = Callable[[dict[str, Any], Mapping[str, Any], dict[str, Any]], list[Finding]]
# (check, result, meta, evidence) -> the findings of one expectation result that did not raise
ResultReader = Callable[[str, Any, dict[str, Any], dict[str, Any]], list[Finding]]

_OBJECT_NOUN = {
    "tables": "table",
    "views": "view",
    "routines": "routine",
    "triggers": "trigger",
    "events": "event",
}


def expectation_meta(check: str, subject: str, **values: Any) -> dict[str, Any]:
    """The ``meta`` of an expectation: which check it is, what it is about and what it expects."""
    return {"drdrill": {"check": check, "subject": subject, **json_safe(values)}}


def findings_for_result(result: Any, read: ResultReader, redact: Callable[[str], str]) -> list[Finding]:
    """The findings of one expectation result: COULD_NOT_VERIFY when it raised, else what ``read`` says."""
    config = result.expectation_config
    meta = (config.meta or {}).get("drdrill", {})
    check, subject = meta.get("check", "?"), meta.get("subject", "?")
    observed = json_safe(dict(result.result or {}))
    evidence = {
        "expectation_type": config.type,
        "check": check,
        "subject": subject,
        "expected": {k: v for k, v in meta.items() if k not in ("check", "subject")},
        "observed": observed,
    }
    error = raised_exception(result)
    if error is not None:
        detail = redact(error)
        return [
            Finding(
                "COULD_NOT_VERIFY",
                f"{subject}: the {check.replace('_', ' ')} check could not be "
                f"evaluated ({config.type}): {first_line(detail)}",
                evidence={**evidence, "error": detail[:2000]},
            )
        ]
    return read(check, result, meta, evidence)


def failure_findings(
    builders: Mapping[str, FindingBuilder],
    check: str,
    result: Any,
    meta: dict[str, Any],
    evidence: dict[str, Any],
) -> list[Finding]:
    """No finding for a success; else ``builders[check]``'s finding(s), or COULD_NOT_VERIFY without one."""
    if result.success is True:
        return []
    builder = builders.get(check)
    if builder is None:
        return [
            Finding(
                "COULD_NOT_VERIFY",
                f"{evidence['subject']}: expectation {evidence['expectation_type']} failed and drdrill "
                "cannot say what it means.",
                evidence=evidence,
            )
        ]
    return builder(meta, result.result or {}, evidence)


def raised_exception(result: Any) -> str | None:
    """The message of the first metric that raised while evaluating ``result``, else None.

    GX 1.x keeps ``exception_info`` flat for the expectation itself, or keyed by metric when a
    metric failed.
    """
    info = result.exception_info or {}
    entries = (
        [info]
        if "raised_exception" in info
        else [entry for entry in info.values() if isinstance(entry, dict)]
    )
    for entry in entries:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "unknown error")
    return None


# -- the restore suite's failures --------------------------------------------------------------------------


def row_count_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    """ROWCOUNT_MISMATCH: the restore has more or fewer rows than the manifest."""
    expected, observed = int(meta["expected_rows"]), result.get("observed_value")
    if observed is None:
        return [
            Finding(
                "ROWCOUNT_MISMATCH",
                f"{meta['subject']}: the row count could not be read from the restore; "
                f"the manifest says {expected:,} rows.",
                evidence=evidence,
            )
        ]
    difference = int(observed) - expected
    return [
        Finding(
            "ROWCOUNT_MISMATCH",
            f"{meta['subject']}: the restore has {int(observed):,} rows, the manifest "
            f"says {expected:,} ({abs(difference):,} {'more' if difference > 0 else 'fewer'}).",
            evidence=evidence,
        )
    ]


def checksum_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    """CHECKSUM_MISMATCH: the restored content checksum is not the manifest's; with ``counts_rows`` (the
    expectation also counted the rows), ROWCOUNT_MISMATCH when the count differs, and each only when it does."""
    rows = ((result.get("details") or {}).get("unexpected_rows") or [{}])[0]
    restored, restored_rows = rows.get("restored_checksum"), rows.get("restored_rows")
    findings: list[Finding] = []
    if meta.get("counts_rows"):
        if restored_rows is None or int(restored_rows) != int(meta["expected_rows"]):
            findings += row_count_finding(meta, {"observed_value": restored_rows},
                                          {**evidence, "restored_rows": restored_rows})
        if restored is not None and str(restored) == str(meta["expected_checksum"]):
            return findings
    if restored is None:
        observed = "differs"
    else:
        observed = f"is {restored} over {int(restored_rows):,} rows"
    return findings + [
        Finding(
            "CHECKSUM_MISMATCH",
            f"{meta['subject']}: the restored content checksum {observed}; the manifest "
            f"says {meta['expected_checksum']} over {int(meta['expected_rows']):,} rows.",
            evidence={**evidence, "restored_checksum": None if restored is None else str(restored)},
        )
    ]


def unique_key_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    """PRIMARY_KEY_VIOLATION: rows of the restore share a primary-key value."""
    key = ", ".join(meta["primary_key"])
    examples = "; ".join(
        f"{_key_label(meta['primary_key'], item.get('value'))} x{item.get('count')}"
        for item in (result.get("partial_unexpected_counts") or [])[:5]
    )
    return [
        Finding(
            "PRIMARY_KEY_VIOLATION",
            f"{meta['subject']}: primary key ({key}) is not unique in the restore: "
            f"{_count(result.get('unexpected_count'))} of {_count(result.get('element_count'))} rows share a "
            f"key value" + (f", e.g. {examples}." if examples else "."),
            evidence=evidence,
        )
    ]


def not_null_key_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    """PRIMARY_KEY_VIOLATION: a primary-key column is NULL in rows of the restore."""
    return [
        Finding(
            "PRIMARY_KEY_VIOLATION",
            f"{meta['subject']}: primary-key column {meta['column']} is NULL in "
            f"{_count(result.get('unexpected_count'))} of {_count(result.get('element_count'))} rows of the "
            "restore.",
            evidence=evidence,
        )
    ]


def inventory_findings(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    """TABLE_MISSING or OBJECT_MISSING, one per object GX named, plus one for those it did not name."""
    kind = meta["kind"]
    return missing_object_findings("TABLE_MISSING" if kind == "tables" else "OBJECT_MISSING", _OBJECT_NOUN[kind],
                                   kind, result, evidence)


def missing_object_findings(code: str, noun: str, kind: str, result: Mapping[str, Any], evidence: dict[str, Any],
                            fix: str = "") -> list[Finding]:
    """``code`` for each object a failed ContainSet expectation named as missing, and one for the ones it did not."""
    missing = list(result.get("partial_missing_list") or [])
    findings = [
        Finding(code, f"{noun.capitalize()} {name} is in the manifest but not in the restored server.", fix=fix,
                evidence={**evidence, "object": name, "kind": kind})
        for name in missing
    ]
    unnamed = int(result.get("missing_count") or 0) - len(missing)
    if unnamed > 0 or not findings:
        findings.append(
            Finding(
                code,
                f"{max(unnamed, 1)} more {kind} of the manifest are not in the restored server "
                "(Great Expectations did not name them).",
                fix=fix,
                evidence={**evidence, "kind": kind},
            )
        )
    return findings


# -- the PITR suite's failures -----------------------------------------------------------------------------


def rows_after_target_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    """PITR_BOUNDARY_WRONG: the recovery replayed past its target."""
    row = ((result.get("details") or {}).get("unexpected_rows") or [{}])[0]
    count, newest = row.get("rows_after"), as_utc_datetime(row.get("newest_after"))
    if count is None:
        rows = "Rows committed after the target are"
    else:
        rows = f"{int(count):,} {'row' if int(count) == 1 else 'rows'} committed after the target " + (
            "is" if int(count) == 1 else "are"
        )
    target = utc_label(datetime.fromisoformat(meta["target_time"]))
    return [
        Finding(
            "PITR_BOUNDARY_WRONG",
            f"{meta['table']}: {rows} present (target {target}"
            + (f", newest {utc_label(newest)}" if newest is not None else "")
            + "): the recovery replayed past its target.",
            evidence={
                **evidence,
                "rows_after": None if count is None else int(count),
                "newest_after": None if newest is None else newest.isoformat(),
            },
        )
    ]


def rows_before_target_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    """PITR_BOUNDARY_WRONG: rows before the target are missing, or more than the source had."""
    row = ((result.get("details") or {}).get("unexpected_rows") or [{}])[0]
    expected, found = int(meta["expected_before"]), row.get("rows_before")
    target = utc_label(datetime.fromisoformat(meta["target_time"]))
    if found is not None and int(found) > expected:
        message = (
            f"{meta['table']}: more rows committed before the target {target} than the source had: "
            f"expected {expected:,}, found {int(found):,}."
        )
    else:
        message = (
            f"{meta['table']}: rows committed before the target {target} are missing: "
            f"expected {expected:,}, found {_count(found)}."
        )
    return [
        Finding(
            "PITR_BOUNDARY_WRONG",
            message,
            evidence={**evidence, "rows_before": None if found is None else int(found)},
        )
    ]


def marker_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    """PITR_BOUNDARY_WRONG: the before-marker is missing or the after-marker is present."""
    target = utc_label(datetime.fromisoformat(meta["target_time"]))
    if meta["check"] == "pitr_marker_before":
        message = (
            f"Marker {meta['marker']!r}, written before the target {target}, is missing from {meta['table']}."
        )
    else:
        message = (
            f"Marker {meta['marker']!r}, written after the target {target}, is present in {meta['table']}."
        )
    return [Finding("PITR_BOUNDARY_WRONG", message, evidence={**evidence, "marker": meta["marker"]})]


def _key_label(columns: Sequence[str], value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) == len(columns):
        return "(" + ", ".join(f"{column}={item}" for column, item in zip(columns, value)) + ")"
    return f"{columns[0]}={value}" if len(columns) == 1 else str(value)


def _count(value: Any) -> str:
    return "?" if value is None else f"{int(value):,}"
