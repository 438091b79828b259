"""The restore drill's suite: per-table counts, checksums and keys, the object inventory, every object's
definition against the manifest's fingerprint, and the RPO.

Which checks run is data (``suite_definition``); what they expect comes from the backup's manifest, so a
table added to the source is covered by the next backup without edits. Every expectation runs inside the
server (counts, aggregates, ``LIMIT``-ed samples); rows are never pulled into pandas.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from drdrill.checks.definition_checks import (
    KINDS,
    definition_mismatch_query,
    differs_findings,
    missing_findings,
    unfingerprinted_finding,
    unreadable_finding,
    version_note,
)
from drdrill.checks.evidence import as_utc_datetime, utc_label
from drdrill.checks.gx_runner import (
    SuiteRun,
    ValidationOutcome,
    aware_utc,
    rows_keeping_expectations,
    run_suite,
)
from drdrill.checks.result_findings import (
    checksum_finding,
    expectation_meta,
    failure_findings,
    inventory_findings,
    not_null_key_finding,
    row_count_finding,
    unique_key_finding,
)
from drdrill.checks.lanes import assign_lanes
from drdrill.checks.schema_fingerprint import FINGERPRINT_QUERIES
from drdrill.checks.source_facts import read_primary_keys
from drdrill.checks.sql import checksum_mismatch_query, inventory_query
from drdrill.checks.suite_definition import INVENTORY_KINDS, check_suite_definition, load_suite_definition
from drdrill.config import Heartbeat
from drdrill.durations import format_duration
from drdrill.findings import Finding
from drdrill.storage.manifest import Manifest, SchemaObject, TableFacts

# GX names at most 20 missing values per expectation (constants.MAX_DISTINCT_VALUES), so the manifest's
# list of each kind is split into expectations of at most 20 names: every missing object gets named.
INVENTORY_CHUNK = 20
DEFINITION_CHUNK = 100  # objects per definition expectation: GX returns at most 200 unexpected rows
_FINDING_BUILDERS = {
    "row_count": row_count_finding,
    "checksum": checksum_finding,
    "primary_key_unique": unique_key_finding,
    "primary_key_not_null": not_null_key_finding,
    "inventory": inventory_findings,
}


def validate_restore(
    sqlalchemy_url: str,
    manifest: Manifest,
    *,
    results_dir: Path,
    disaster_at: datetime,
    rpo_objective: timedelta | None,
    heartbeat: Heartbeat | None,
    definition: dict[str, Any] | None = None,
    parallel: int = 1,
) -> ValidationOutcome:
    """Prove the restored server holds what the manifest says; GX results and Data Docs go to ``results_dir``.

    ``parallel``: tables checked at once (the biggest spread first over that many lanes, each its own connection).

    Never raises for server trouble (unreachable, missing tables, failing queries): those come back
    as findings. Raises ValueError for a naive ``disaster_at`` and ConfigError for a bad definition.
    """
    started = time.monotonic()
    disaster_at = aware_utc(disaster_at, "disaster_at", "e.g. the run's logical_date")
    definition = load_suite_definition() if definition is None else check_suite_definition(definition)
    run = RestoreSuiteRun(
        sqlalchemy_url,
        results_dir,
        manifest=manifest,
        definition=definition,
        disaster_at=disaster_at,
        rpo_objective=rpo_objective,
        heartbeat=heartbeat if definition["rpo"] and rpo_objective is not None else None,
        parallel=parallel,
    )
    return run_suite(run, started)


class RestoreSuiteRun(SuiteRun):
    """The restore suite: per-table counts, checksums and keys, the inventory, definitions, and the RPO."""

    title = "restore validation"
    nothing_checked = (
        "the manifest lists no tables or objects, or the suite definition switches every check off."
    )

    def __init__(
        self,
        sqlalchemy_url: str,
        results_dir: Path,
        *,
        manifest: Manifest,
        definition: dict[str, Any],
        disaster_at: datetime,
        rpo_objective: timedelta | None,
        heartbeat: Heartbeat | None,  # None when the RPO check does not run
        parallel: int = 1,
    ) -> None:
        schemas = {t.schema for t in manifest.tables} | set(manifest.databases)
        if heartbeat:
            schemas.add(heartbeat.schema)
        super().__init__(
            sqlalchemy_url,
            results_dir,
            suite=definition["suite"],
            run_name=manifest.backup_id,
            schemas=schemas,
            parallel=parallel,
        )
        self.manifest = manifest
        self.definition = definition
        self.disaster_at = disaster_at
        self.rpo_objective = rpo_objective
        self.heartbeat = heartbeat
        self._missing_tables: list[str] = []
        self._server_primary_keys: dict[str, tuple[str, ...]] = {}
        self.keys_enforced_by_server: list[str] = []  # tables whose key checks the PRIMARY KEY constraint made

    def settings(self) -> dict[str, Any]:
        return {
            "backup_id": self.manifest.backup_id,
            "target": self.manifest.target,
            "definition": self.definition,
            "primary_keys_enforced_by_server": self.keys_enforced_by_server,
        }

    def _validation_definitions(self, gx: Any, context: Any, root: Any) -> list[Any]:
        existing, collation = self._read_existing_tables(root)
        if {"primary_key_unique", "primary_key_not_null"} & set(self.definition["table_checks"]):
            self._server_primary_keys = self._read_primary_keys(root)
        validations: list[Any] = []
        present = []
        for table in self.manifest.tables:
            if f"{table.schema}.{table.name}" in existing:
                present.append(table)
            else:
                self._missing_tables.append(f"{table.schema}.{table.name}")
        lanes = assign_lanes({f"{table.schema}.{table.name}": table.rows for table in present}, self.parallel)
        for table in present:
            validations += self._table_validation(gx, context, table, lanes[f"{table.schema}.{table.name}"])
        for kind in self.definition["inventory"]:
            validations += self._inventory_validations(gx, context, root, kind, collation)
        if self.definition["definitions"] and not self.manifest.schema and (
            self.manifest.tables or any(getattr(self.manifest.inventory, kind) for kind in INVENTORY_KINDS)
        ):
            self.findings.append(unfingerprinted_finding(self.manifest.backup_id))
        for kind in self.definition["definitions"]:
            validations += self._definition_validations(gx, context, root, kind, collation, existing)
        if self.heartbeat is not None:
            validations += self._rpo_validation(gx, context, existing)
        return validations

    def _table_validation(self, gx: Any, context: Any, table: TableFacts, lane: int) -> list[Any]:
        qualified = f"{table.schema}.{table.name}"
        checks = self.definition["table_checks"]
        expectations: list[Any] = []
        counted_with_checksum = False
        if "checksum" in checks:
            counted_with_checksum = "row_count" in checks
            try:
                query = checksum_mismatch_query(table, with_row_count=counted_with_checksum)
            except ValueError as exc:
                counted_with_checksum = False
                self.findings.append(
                    Finding(
                        "COULD_NOT_VERIFY",
                        f"{qualified}: the checksum cannot be recomputed: {exc}.",
                        fix="Take a new backup: its manifest must list each table's columns and checksum.",
                        evidence={"table": qualified, "check": "checksum"},
                    )
                )
            else:  # one pass over the table yields its checksum and (with row_count on) its row count
                expectations.append(
                    rows_keeping_expectations()["ExpectTableChecksumToMatchManifest"](
                        unexpected_rows_query=query,
                        description=f"Content checksum of {qualified} equals the manifest's {table.checksum}"
                        + (f" over {table.rows:,} rows" if counted_with_checksum else ""),
                        meta=expectation_meta(
                            "checksum", qualified, expected_checksum=table.checksum, expected_rows=table.rows,
                            counts_rows=counted_with_checksum,
                        ),
                    )
                )
        if "row_count" in checks and not counted_with_checksum:
            expectations.append(
                gx.expectations.ExpectTableRowCountToEqual(
                    value=table.rows, meta=expectation_meta("row_count", qualified, expected_rows=table.rows)
                )
            )
        key = list(table.primary_key)
        if key and self._server_primary_keys.get(qualified) == table.primary_key:
            # The restored table has the PRIMARY KEY the manifest recorded: the server itself keeps those
            # columns unique and NOT NULL, so scanning the data for it again proves nothing more.
            self.keys_enforced_by_server.append(qualified)
            checks = [check for check in checks if check not in ("primary_key_unique", "primary_key_not_null")]
        if "primary_key_unique" in checks and len(key) == 1:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeUnique(
                    column=key[0], meta=expectation_meta("primary_key_unique", qualified, primary_key=key)
                )
            )
        elif "primary_key_unique" in checks and key:
            expectations.append(
                gx.expectations.ExpectCompoundColumnsToBeUnique(
                    column_list=key, meta=expectation_meta("primary_key_unique", qualified, primary_key=key)
                )
            )
        if "primary_key_not_null" in checks:
            expectations += [
                gx.expectations.ExpectColumnValuesToNotBeNull(
                    column=column,
                    meta=expectation_meta("primary_key_not_null", qualified, primary_key=key, column=column),
                )
                for column in key
            ]
        batch = self._readable_batch(context, table.schema, table.name, lane) if expectations else None
        if batch is None:
            return []
        return self._validation(gx, context, qualified, batch, expectations, lane)

    def _read_primary_keys(self, root: Any) -> dict[str, tuple[str, ...]]:
        """``schema.table`` → the columns of its PRIMARY KEY constraint on the restored server, in key order."""
        with root.get_engine().connect() as connection:
            cursor = connection.connection.cursor()
            try:
                return read_primary_keys(cursor, sorted(self._schema_variables))
            finally:
                cursor.close()

    def _inventory_validations(
        self, gx: Any, context: Any, root: Any, kind: str, collation: str
    ) -> list[Any]:
        expected = set(getattr(self.manifest.inventory, kind))
        if kind == "tables":
            expected |= {f"{t.schema}.{t.name}" for t in self.manifest.tables}
        if not expected:
            return []
        databases = sorted(set(self.manifest.databases) | {name.split(".", 1)[0] for name in expected})
        asset = root.add_query_asset(
            name=f"inventory.{kind}", query=inventory_query(kind, databases, collation)
        )
        expectations = presence_expectations(gx, "inventory", kind, sorted(expected))
        return self._validation(
            gx, context, f"inventory.{kind}", asset.add_batch_definition_whole_table("whole"), expectations
        )

    def _definition_validations(
        self, gx: Any, context: Any, root: Any, kind: str, collation: str, existing: set[str]
    ) -> list[Any]:
        objects = [obj for obj in self.manifest.schema if obj.kind == kind]
        unreadable = [obj.name for obj in objects if not obj.readable]
        if unreadable:
            self.findings.append(unreadable_finding(kind, unreadable))
        if kind == "indexes":  # a missing table is TABLE_MISSING; its indexes are not reported again
            objects = [obj for obj in objects if _index_table(obj) in existing]
        compared = [obj for obj in objects if obj.readable]
        if not compared:
            return []
        asset = root.add_query_asset(
            name=f"definitions.{kind}", query=FINGERPRINT_QUERIES[kind](self.manifest.databases, collation)
        )
        expectation = rows_keeping_expectations()["ExpectDefinitionsToMatchManifest"]
        expectations: list[Any] = []
        for start in range(0, len(compared), DEFINITION_CHUNK):
            chunk = compared[start : start + DEFINITION_CHUNK]
            expectations.append(
                expectation(
                    unexpected_rows_query=definition_mismatch_query(chunk),
                    description=f"{len(chunk)} {kind} have the manifest's definitions",
                    meta=expectation_meta("definitions", kind, kind=kind, objects=len(chunk)),
                )
            )
        if KINDS[kind].missing:
            expectations += presence_expectations(gx, "definitions_present", kind, [obj.name for obj in compared])
        return self._validation(
            gx, context, f"definitions.{kind}", asset.add_batch_definition_whole_table("whole"), expectations
        )

    def _definition_findings(self, check: str, result: Any, meta: dict[str, Any], evidence: dict[str, Any]) -> list[Finding]:
        if result.success is True:
            return []
        kind = meta["kind"]
        observed = result.result or {}
        if check == "definitions_present":
            return missing_findings(kind, observed, evidence)
        rows = (observed.get("details") or {}).get("unexpected_rows") or []
        source = {obj.name: obj for obj in self.manifest.schema if obj.kind == kind}
        note = version_note(self.manifest.server_version, self.server_version)
        return differs_findings(kind, rows, source, evidence, note)

    def _rpo_validation(self, gx: Any, context: Any, existing: set[str]) -> list[Any]:
        spec, objective = self.heartbeat, self.rpo_objective
        assert spec is not None and objective is not None
        oldest_acceptable = self.disaster_at - objective
        evidence = {
            "table": spec.qualified_table,
            "column": spec.column,
            "disaster_at": self.disaster_at.isoformat(),
            "rpo_objective_seconds": objective.total_seconds(),
            "oldest_acceptable_heartbeat": oldest_acceptable.isoformat(),
        }
        if spec.qualified_table not in existing:
            in_manifest = any(f"{t.schema}.{t.name}" == spec.qualified_table for t in self.manifest.tables)
            if in_manifest:
                self.findings.append(
                    Finding(
                        "RPO_EXCEEDED",
                        f"No heartbeat recovered: the heartbeat table {spec.qualified_table} is missing "
                        "from the restore, so the data lost before the disaster at "
                        f"{utc_label(self.disaster_at)} cannot be bounded by the RPO objective of "
                        f"{format_duration(objective)}.",
                        evidence=evidence,
                    )
                )
            else:
                self.findings.append(
                    Finding(
                        "COULD_NOT_VERIFY",
                        f"RPO not measured: the heartbeat table {spec.qualified_table} is neither in "
                        "the manifest nor in the restored server.",
                        fix="Point the target's heartbeat setting at the table the heartbeat writer fills.",
                        evidence=evidence,
                    )
                )
            return []
        expectation = gx.expectations.ExpectColumnMaxToBeBetween(
            column=spec.column,
            min_value=oldest_acceptable.replace(tzinfo=None),
            meta=expectation_meta("rpo", f"{spec.qualified_table}.{spec.column}", **evidence),
        )
        batch = self._readable_batch(context, spec.schema, spec.table)
        if batch is None:
            return []
        return self._validation(gx, context, f"rpo.{spec.qualified_table}", batch, [expectation])

    def _result_findings(
        self, check: str, result: Any, meta: dict[str, Any], evidence: dict[str, Any]
    ) -> list[Finding]:
        if check == "rpo":
            return self._rpo_findings(result, meta, evidence)
        if check in ("definitions", "definitions_present"):
            return self._definition_findings(check, result, meta, evidence)
        return failure_findings(_FINDING_BUILDERS, check, result, meta, evidence)

    def _rpo_findings(self, result: Any, meta: dict[str, Any], evidence: dict[str, Any]) -> list[Finding]:
        newest = as_utc_datetime((result.result or {}).get("observed_value"))
        self.newest_heartbeat = newest
        objective = timedelta(seconds=meta["rpo_objective_seconds"])
        table = f"{meta['table']}.{meta['column']}"
        if result.success is True and newest is not None:
            return []
        if newest is None:
            return [
                Finding(
                    "RPO_EXCEEDED",
                    f"No heartbeat recovered: {meta['table']} has no rows in the restore, so "
                    f"the data lost before the disaster at {utc_label(self.disaster_at)} cannot be bounded "
                    f"by the RPO objective of {format_duration(objective)}.",
                    evidence=evidence,
                )
            ]
        lost = self.disaster_at - newest
        evidence = {
            **evidence,
            "newest_heartbeat": newest.isoformat(),
            "measured_rpo_seconds": lost.total_seconds(),
        }
        return [
            Finding(
                "RPO_EXCEEDED",
                f"The newest heartbeat in the restore ({table}) is {utc_label(newest)}, "
                f"{format_duration(lost)} before the disaster at {utc_label(self.disaster_at)}: measured "
                f"RPO {format_duration(lost)} exceeds the objective of {format_duration(objective)}.",
                evidence=evidence,
            )
        ]

    def finish(self) -> None:
        self.report_unreported_missing_tables()

    def report_unreported_missing_tables(self) -> None:
        """TABLE_MISSING for missing tables no inventory expectation named (switched off or broken)."""
        named = {f.evidence.get("object") for f in self.findings if f.code == "TABLE_MISSING"}
        for qualified in self._missing_tables:
            if qualified not in named:
                self.findings.append(
                    Finding(
                        "TABLE_MISSING",
                        f"Table {qualified} is in the manifest but not in the restored server; its "
                        "row count, checksum and key checks were not attempted.",
                        evidence={
                            "object": qualified,
                            "kind": "tables",
                            "source": "information_schema.TABLES",
                        },
                    )
                )


def presence_expectations(gx: Any, check: str, kind: str, names: list[str]) -> list[Any]:
    """The query asset's ``name`` column contains every one of ``names``, in chunks GX names in full."""
    return [
        gx.expectations.ExpectColumnDistinctValuesToContainSet(
            column="name",
            value_set=names[i : i + INVENTORY_CHUNK],
            meta=expectation_meta(check, kind, kind=kind, expected=names[i : i + INVENTORY_CHUNK]),
        )
        for i in range(0, len(names), INVENTORY_CHUNK)
    ]


def _index_table(index: SchemaObject) -> str:
    """The ``schema.table`` an index fingerprint belongs to (its definition's first line)."""
    first = (index.definition or "").split("\n", 1)[0]
    return first[len("table: "):] if first.startswith("table: ") else index.name.rsplit(".", 1)[0]
