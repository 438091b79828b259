"""The PITR drill's suite: proves a point-in-time recovery stopped exactly at its target, from both sides.

No heartbeat at or after the target, every heartbeat before it, and optional before/after markers, all
checked as SQL inside the recovered server. Each failure is a PITR_BOUNDARY_WRONG finding.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from drdrill.checks.evidence import as_utc_datetime, utc_label
from drdrill.checks.gx_runner import (
    SuiteRun,
    ValidationOutcome,
    aware_utc,
    rows_keeping_expectations,
    run_suite,
)
from drdrill.checks.result_findings import (
    expectation_meta,
    failure_findings,
    marker_finding,
    rows_after_target_finding,
    rows_before_target_finding,
)
from drdrill.checks.sql import rows_after_target_query, rows_before_target_mismatch_query
from drdrill.config import Heartbeat
from drdrill.findings import Finding

PITR_SUITE = "pitr_boundary"
# (label VARCHAR PRIMARY KEY, written_at DATETIME(6)) in the heartbeat's schema, written by the PITR drill
PITR_MARKERS_TABLE = "drdrill_pitr_markers"
_FINDING_BUILDERS = {
    "pitr_after": rows_after_target_finding,
    "pitr_before": rows_before_target_finding,
    "pitr_marker_before": marker_finding,
    "pitr_marker_after": marker_finding,
}


def validate_pitr_boundary(
    sqlalchemy_url: str,
    *,
    heartbeat: Heartbeat,
    target_time: datetime,
    expected_before: int,
    results_dir: Path,
    markers: tuple[str, str] | None = None,
) -> ValidationOutcome:
    """Prove a point-in-time recovery stopped exactly at ``target_time``, from both sides, in the server.

    Nothing after the target: no heartbeat row has ``column >= target_time``. Everything before it: the
    rows with ``column < target_time`` number ``expected_before`` (the source's own count for that
    range). With ``markers=(before, after)``, the row labelled ``before`` of ``drdrill_pitr_markers``
    (in the heartbeat's schema) is present and the one labelled ``after`` is absent. Each failure is
    a PITR_BOUNDARY_WRONG finding; ``newest_heartbeat`` is the newest row of the recovered table.

    ``target_time`` is timezone-aware and a whole second (binlog replay stops at event seconds).
    Never raises for server trouble; raises ValueError for bad arguments.
    """
    started = time.monotonic()
    target_time = aware_utc(target_time, "target_time", "e.g. the drill's recovery target")
    if target_time.microsecond:
        raise ValueError(
            f"target_time {target_time.isoformat()} is not a whole second: binlog events carry whole "
            "seconds, so recover to (and validate against) a time with microsecond=0"
        )
    if isinstance(expected_before, bool) or not isinstance(expected_before, int) or expected_before < 0:
        raise ValueError(f"expected_before must be a row count (an int >= 0), not {expected_before!r}")
    if markers is not None:
        if (
            len(markers) != 2
            or not all(isinstance(label, str) and label for label in markers)
            or markers[0] == markers[1]
        ):
            raise ValueError(
                f"markers must be two different non-empty labels (before, after), not {markers!r}"
            )
        markers = (markers[0], markers[1])
    run = PitrSuiteRun(
        sqlalchemy_url,
        results_dir,
        heartbeat=heartbeat,
        target_time=target_time,
        expected_before=expected_before,
        markers=markers,
    )
    return run_suite(run, started)


class PitrSuiteRun(SuiteRun):
    """The PITR suite: the heartbeat table stops exactly at the target, and the optional markers agree."""

    title = "PITR boundary validation"
    nothing_checked = "neither the heartbeat table nor the markers could be checked."

    def __init__(
        self,
        sqlalchemy_url: str,
        results_dir: Path,
        *,
        heartbeat: Heartbeat,
        target_time: datetime,
        expected_before: int,
        markers: tuple[str, str] | None,
    ) -> None:
        super().__init__(
            sqlalchemy_url,
            results_dir,
            suite=PITR_SUITE,
            run_name=f"pitr-{target_time:%Y%m%dT%H%M%SZ}",
            schemas=[heartbeat.schema],
        )
        self.heartbeat = heartbeat
        self.target_time = target_time
        self.expected_before = expected_before
        self.markers = markers

    def settings(self) -> dict[str, Any]:
        return {
            "heartbeat": f"{self.heartbeat.qualified_table}.{self.heartbeat.column}",
            "target_time": self.target_time.isoformat(),
            "expected_before": self.expected_before,
            "markers": None if self.markers is None else dict(zip(("before", "after"), self.markers)),
        }

    def _validation_definitions(self, gx: Any, context: Any, root: Any) -> list[Any]:
        existing, _ = self._read_existing_tables(root)
        validations: list[Any] = []
        spec = self.heartbeat
        if spec.qualified_table in existing:
            batch = self._readable_batch(context, spec.schema, spec.table)
            if batch is not None:
                validations += self._validation(
                    gx, context, spec.qualified_table, batch, self._heartbeat_expectations(gx)
                )
        else:
            self._report_missing_heartbeat_table()
        if self.markers is not None:
            validations += self._marker_validation(gx, context, existing, *self.markers)
        return validations

    def _heartbeat_expectations(self, gx: Any) -> list[Any]:
        spec, target, expected = self.heartbeat, self.target_time, self.expected_before
        subject = f"{spec.qualified_table}.{spec.column}"
        evidence = {"table": spec.qualified_table, "column": spec.column, "target_time": target.isoformat()}
        classes = rows_keeping_expectations()
        return [
            classes["ExpectNoRowsAfterRecoveryTarget"](
                unexpected_rows_query=rows_after_target_query(spec.column, target),
                description=f"No row of {spec.qualified_table} has {spec.column} at or after the "
                f"recovery target {utc_label(target)}",
                meta=expectation_meta("pitr_after", subject, **evidence),
            ),
            classes["ExpectRowsBeforeRecoveryTargetToMatchSource"](
                unexpected_rows_query=rows_before_target_mismatch_query(spec.column, target, expected),
                description=f"{spec.qualified_table} has {expected:,} rows with {spec.column} before the "
                f"recovery target {utc_label(target)}, as the source had",
                meta=expectation_meta("pitr_before", subject, expected_before=expected, **evidence),
            ),
            # An observation (no bounds): the newest heartbeat recovered, for the outcome and the docs.
            gx.expectations.ExpectColumnMaxToBeBetween(
                column=spec.column,
                description=f"The newest {spec.column} recovered in {spec.qualified_table} (observed)",
                meta=expectation_meta("pitr_newest", subject, **evidence),
            ),
        ]

    def _report_missing_heartbeat_table(self) -> None:
        spec = self.heartbeat
        evidence = {"table": spec.qualified_table, "expected_before": self.expected_before, **self.settings()}
        if self.expected_before > 0:
            self.findings.append(
                Finding(
                    "PITR_BOUNDARY_WRONG",
                    f"Rows committed before the target {utc_label(self.target_time)} are missing: the "
                    f"heartbeat table {spec.qualified_table} is not in the recovered server "
                    f"(expected {self.expected_before:,} rows, found none).",
                    evidence=evidence,
                )
            )
        else:
            self.findings.append(
                Finding(
                    "COULD_NOT_VERIFY",
                    f"PITR boundary not checked by heartbeats: the table {spec.qualified_table} is not in "
                    "the recovered server and the source had no rows before the target.",
                    fix="Point the target's heartbeat setting at the table the heartbeat writer fills.",
                    evidence=evidence,
                )
            )

    def _marker_validation(
        self, gx: Any, context: Any, existing: set[str], before: str, after: str
    ) -> list[Any]:
        schema = self.heartbeat.schema
        table = f"{schema}.{PITR_MARKERS_TABLE}"
        evidence = {
            "table": table,
            "before": before,
            "after": after,
            "target_time": self.target_time.isoformat(),
        }
        if table not in existing:
            self.findings.append(
                Finding(
                    "PITR_BOUNDARY_WRONG",
                    f"Marker {before!r}, written before the target {utc_label(self.target_time)}, is "
                    f"missing: the table {table} is not in the recovered server.",
                    evidence=evidence,
                )
            )
            return []
        batch = self._readable_batch(context, schema, PITR_MARKERS_TABLE)
        if batch is None:
            return []
        expectations = [
            gx.expectations.ExpectColumnDistinctValuesToContainSet(
                column="label",
                value_set=[before],
                description=f"Marker {before!r}, written before the target, is present",
                meta=expectation_meta("pitr_marker_before", table, marker=before, **evidence),
            ),
            gx.expectations.ExpectColumnValuesToNotBeInSet(
                column="label",
                value_set=[after],
                description=f"Marker {after!r}, written after the target, is absent",
                meta=expectation_meta("pitr_marker_after", table, marker=after, **evidence),
            ),
        ]
        return self._validation(gx, context, table, batch, expectations)

    def _result_findings(
        self, check: str, result: Any, meta: dict[str, Any], evidence: dict[str, Any]
    ) -> list[Finding]:
        if check == "pitr_newest":
            # Fails only on an empty table (no max): then "pitr_before" names the missing rows, if any.
            self.newest_heartbeat = as_utc_datetime((result.result or {}).get("observed_value"))
            return []
        return failure_findings(_FINDING_BUILDERS, check, result, meta, evidence)
