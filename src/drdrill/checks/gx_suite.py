"""The drills' Great Expectations suites, run as SQL in the restored server: the restore's and the PITR's.

The restore suite: which checks run is data (``drdrill/checks/expectations/restore_drill.yaml``, package data); what they
expect comes from the backup's manifest, so a table added to the source is covered by the next backup
without edits. The PITR suite proves a point-in-time recovery stopped exactly at its target, from both
sides: no heartbeat at or after the target, every heartbeat before it, optional before/after markers.
Every expectation runs inside the server (counts, aggregates, ``LIMIT``-ed samples); rows are never
pulled into pandas. Each failed expectation becomes exactly one Finding (an inventory expectation: one
per missing object), and an expectation that raised becomes COULD_NOT_VERIFY, never a pass.

The connection string holds a password. It reaches Great Expectations only through an ephemeral
context's ``runtime_environment`` (the datasource config holds ``${DRDRILL_RESTORE_URL…}``), so no
GX config file exists, and neither the results JSON nor the Data Docs contain it.
"""

from __future__ import annotations

import functools
import json
import logging
from importlib import resources
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from drdrill.checks.checksum import quote_identifier, table_checksum_sql
from drdrill.findings import Finding
from drdrill.config import Heartbeat
from drdrill.durations import format_duration
from drdrill.errors import ConfigError
from drdrill.storage.manifest import Manifest, TableFacts

log = logging.getLogger(__name__)

TABLE_CHECKS = ("row_count", "checksum", "primary_key_unique", "primary_key_not_null")
INVENTORY_KINDS = ("tables", "views", "routines", "triggers", "events")
DEFINITION_KEYS = ("suite", "table_checks", "inventory", "rpo")
RESULTS_FILE = "validation_results.json"
DATA_DOCS_DIR = "data_docs"
DATA_DOCS_SITE = "drdrill"
URL_VARIABLE = "DRDRILL_RESTORE_URL"  # GX config substitution; the value lives only in memory
PITR_SUITE = "pitr_boundary"
# (label VARCHAR PRIMARY KEY, written_at DATETIME(6)) in the heartbeat's schema, written by the PITR drill
PITR_MARKERS_TABLE = "drdrill_pitr_markers"
# GX names at most 20 missing values per expectation (constants.MAX_DISTINCT_VALUES), so the manifest's
# list of each kind is split into expectations of at most 20 names: every missing object gets named.
INVENTORY_CHUNK = 20
# Checksums render TIMESTAMP columns in the session time zone; the manifest's were taken in UTC.
_CONNECT_ARGS = {"init_command": "SET time_zone = '+00:00'", "connect_timeout": 10}
_DIGITS_RE = re.compile(r"\d+")
_OBJECT_NOUN = {
    "tables": "table",
    "views": "view",
    "routines": "routine",
    "triggers": "trigger",
    "events": "event",
}

# One query per inventory kind over information_schema, mirroring source_facts.read_inventory, as one
# `name` column ("schema.name"; routines "schema.name (FUNCTION)") in an exact (binary, no-pad) collation
# so "Orders" and "orders " do not count as "orders": (name expression, source, schema column, condition).
_INVENTORY_SOURCES: dict[str, tuple[str, str, str, str]] = {
    "tables": (
        "CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)",
        "information_schema.TABLES",
        "TABLE_SCHEMA",
        "TABLE_TYPE = 'BASE TABLE'",
    ),
    "views": ("CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)", "information_schema.VIEWS", "TABLE_SCHEMA", ""),
    "routines": (
        "CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME, ' (', ROUTINE_TYPE, ')')",
        "information_schema.ROUTINES",
        "ROUTINE_SCHEMA",
        "",
    ),
    "triggers": (
        "CONCAT(TRIGGER_SCHEMA, '.', TRIGGER_NAME)",
        "information_schema.TRIGGERS",
        "TRIGGER_SCHEMA",
        "",
    ),
    "events": ("CONCAT(EVENT_SCHEMA, '.', EVENT_NAME)", "information_schema.EVENTS", "EVENT_SCHEMA", ""),
}


@dataclass(frozen=True)
class ValidationOutcome:
    """What the suite found in the restored server, with the GX evidence on disk."""

    findings: tuple[Finding, ...]  # empty = everything verified
    evaluated: int
    successful: int
    newest_heartbeat: datetime | None  # UTC; None without heartbeat spec/objective or when none recovered
    results_json: Path
    data_docs_dir: Path | None
    seconds: float


# -- the suite definition ------------------------------------------------------------------------------


def default_definition_path() -> Path:
    """The suite definition shipped with the package (``drdrill/checks/expectations/restore_drill.yaml``)."""
    return Path(str(resources.files("drdrill.checks") / "expectations" / "restore_drill.yaml"))


def load_suite_definition(path: Path | None = None) -> dict[str, Any]:
    """Read and check the suite definition YAML; ConfigError names the file, the key and the fix."""
    path = Path(path) if path is not None else default_definition_path()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(
            str(path),
            "(file)",
            f"cannot be read ({exc.strerror or exc}).",
            "Reinstall drdrill (the file ships with the package) or pass a readable definition file.",
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(
            str(path), "(file)", f"is not valid YAML ({exc}).", "Fix the syntax at the line shown."
        ) from exc
    return check_suite_definition(data, where=str(path))


def check_suite_definition(data: Any, where: str = "suite definition") -> dict[str, Any]:
    """The definition with every key present and every name known; ConfigError otherwise."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            where,
            "(top level)",
            f"must be a mapping, not {type(data).__name__}.",
            f"Write the keys {', '.join(DEFINITION_KEYS)}.",
        )
    unknown = sorted(set(data) - set(DEFINITION_KEYS))
    if unknown:
        raise ConfigError(
            where,
            unknown[0],
            "is not a key of the suite definition.",
            f"Use only {', '.join(DEFINITION_KEYS)}.",
        )
    missing = [key for key in DEFINITION_KEYS if key not in data]
    if missing:
        raise ConfigError(
            where,
            missing[0],
            "is missing.",
            "Add it; to switch checks off, list fewer names (an empty list is allowed).",
        )
    suite = data["suite"]
    if not isinstance(suite, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", suite):
        raise ConfigError(
            where, "suite", f"{suite!r} is not a simple name.", "Use letters, digits, '_' or '-'."
        )
    if not isinstance(data["rpo"], bool):
        raise ConfigError(
            where, "rpo", f"{data['rpo']!r} is not true or false.", "Write rpo: true or rpo: false."
        )
    return {
        "suite": suite,
        "table_checks": _names(data["table_checks"], TABLE_CHECKS, where, "table_checks"),
        "inventory": _names(data["inventory"], INVENTORY_KINDS, where, "inventory"),
        "rpo": data["rpo"],
    }


def _names(value: Any, known: Sequence[str], where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            where, key, f"must be a list of names, not {value!r}.", f"List some of {', '.join(known)}."
        )
    for item in value:
        if item not in known:
            raise ConfigError(
                where, f"{key}: {item}", "is not a known name.", f"Use some of {', '.join(known)}."
            )
    return list(dict.fromkeys(value))


# -- SQL the expectations run ----------------------------------------------------------------------------


def sql_string(value: str) -> str:
    """A MySQL string literal (quotes and backslashes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def inventory_query(kind: str, databases: Sequence[str], collation: str = "utf8mb4_nopad_bin") -> str:
    """The query asset for one inventory kind: one ``name`` column, limited to ``databases``."""
    expression, source, schema_column, condition = _INVENTORY_SOURCES[kind]
    where = [f"{schema_column} IN ({', '.join(sql_string(db) for db in databases)})"]
    if condition:
        where.append(condition)
    return (
        f"SELECT CONVERT({expression} USING utf8mb4) COLLATE {collation} AS name "
        f"FROM {source} WHERE {' AND '.join(where)}"
    )


def checksum_expression(table: TableFacts) -> str:
    """The aggregate of ``table_checksum_sql`` (``COALESCE(SUM(CRC32(...)), 0)``), without its FROM."""
    sql = table_checksum_sql(table.schema, table.name, table.columns)
    head = "SELECT COUNT(*), "
    tail = f" FROM {quote_identifier(table.schema)}.{quote_identifier(table.name)}"
    if not (sql.startswith(head) and sql.endswith(tail)):
        raise RuntimeError(
            "checks/checksum.py changed the shape of table_checksum_sql; update "
            "gx_suite.checksum_expression to extract the new aggregate."
        )
    return sql[len(head) : -len(tail)]


def checksum_mismatch_query(table: TableFacts) -> str:
    """UnexpectedRowsExpectation SQL: one row (restored rows and checksum) only when the checksum differs."""
    if not _DIGITS_RE.fullmatch(table.checksum):
        raise ValueError(f"the manifest's checksum {table.checksum!r} is not a whole number")
    expression = checksum_expression(table).replace("{", "{{").replace("}", "}}")  # GX formats {batch}
    return (
        "SELECT restored.row_count AS restored_rows, CAST(restored.checksum AS CHAR) AS restored_checksum "
        f"FROM (SELECT COUNT(*) AS row_count, {expression} AS checksum FROM {{batch}}) AS restored "
        f"WHERE restored.checksum <> {table.checksum}"
    )


def rows_after_target_query(column: str, target_time: datetime) -> str:
    """UnexpectedRowsExpectation SQL: one row (how many, the newest) only when rows at or after the target."""
    quoted = quote_identifier(column).replace("{", "{{").replace("}", "}}")  # GX formats {batch}
    at = sql_string(_sql_datetime(target_time))
    return (
        "SELECT after_target.rows_after, after_target.newest_after "
        f"FROM (SELECT COUNT(*) AS rows_after, MAX({quoted}) AS newest_after FROM {{batch}} "
        f"WHERE {quoted} >= {at}) AS after_target WHERE after_target.rows_after > 0"
    )


def rows_before_target_mismatch_query(column: str, target_time: datetime, expected: int) -> str:
    """UnexpectedRowsExpectation SQL: one row (the count before the target) when it is not ``expected``."""
    quoted = quote_identifier(column).replace("{", "{{").replace("}", "}}")
    at = sql_string(_sql_datetime(target_time))
    return (
        "SELECT before_target.rows_before "
        f"FROM (SELECT COUNT(*) AS rows_before FROM {{batch}} WHERE {quoted} < {at}) AS before_target "
        f"WHERE before_target.rows_before <> {int(expected)}"
    )


def _sql_datetime(moment: datetime) -> str:
    """A DATETIME literal's text in UTC (the session time zone; naive means UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f" if moment.microsecond else "%Y-%m-%d %H:%M:%S")


# -- running a suite -------------------------------------------------------------------------------------


def validate_restore(
    sqlalchemy_url: str,
    manifest: Manifest,
    *,
    results_dir: Path,
    disaster_at: datetime,
    rpo_objective: timedelta | None,
    heartbeat: Heartbeat | None,
    definition: dict[str, Any] | None = None,
) -> ValidationOutcome:
    """Prove the restored server holds what the manifest says; GX results and Data Docs go to ``results_dir``.

    Never raises for server trouble (unreachable, missing tables, failing queries): those come back
    as findings. Raises ValueError for a naive ``disaster_at`` and ConfigError for a bad definition.
    """
    started = time.monotonic()
    disaster_at = _aware_utc(disaster_at, "disaster_at", "e.g. the run's logical_date")
    definition = load_suite_definition() if definition is None else check_suite_definition(definition)
    results_dir = Path(results_dir)
    run = _RestoreRun(
        _parsed_url(sqlalchemy_url),
        results_dir / DATA_DOCS_DIR,
        manifest=manifest,
        definition=definition,
        disaster_at=disaster_at,
        rpo_objective=rpo_objective,
        heartbeat=heartbeat if definition["rpo"] and rpo_objective is not None else None,
    )
    return _run_suite(run, results_dir, started)


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
    target_time = _aware_utc(target_time, "target_time", "e.g. the drill's recovery target")
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
    results_dir = Path(results_dir)
    run = _PitrRun(
        _parsed_url(sqlalchemy_url),
        results_dir / DATA_DOCS_DIR,
        heartbeat=heartbeat,
        target_time=target_time,
        expected_before=expected_before,
        markers=markers,
    )
    return _run_suite(run, results_dir, started)


def _run_suite(run: _SuiteRun, results_dir: Path, started: float) -> ValidationOutcome:
    """Run ``run``, turning whatever stopped it into a finding, and write its results JSON; never raises."""
    results_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(run.docs_dir, ignore_errors=True)  # a re-run replaces the site, it does not add to it
    try:
        run.execute()
    except Exception as exc:  # whatever stopped the suite, the drill must not read it as a pass
        message = run.redact(_first_line(str(exc)))
        log.warning("%s could not run: %s: %s", run.title, type(exc).__name__, message)
        run.findings.append(
            Finding(
                "COULD_NOT_VERIFY",
                f"The {run.title} could not run: {type(exc).__name__}: {message}",
                evidence={"error": type(exc).__name__, "detail": message},
            )
        )
    run.finish()
    if not run.findings and run.evaluated == 0:
        run.findings.append(
            Finding(
                "COULD_NOT_VERIFY",
                f"The {run.title} checked nothing: {run.nothing_checked}",
                evidence=run.settings(),
            )
        )
    seconds = time.monotonic() - started
    results_json = results_dir / RESULTS_FILE
    results_json.write_text(json.dumps(run.redact_tree(run.results_document(seconds)), indent=2, default=str))
    log.info(
        "%s: %d/%d expectations passed, %d findings, %.2f s (%s)",
        run.title,
        run.successful,
        run.evaluated,
        len(run.findings),
        seconds,
        ", ".join(f"{step} {value:.2f} s" for step, value in run.timings.items()),
    )
    return ValidationOutcome(
        tuple(run.findings),
        run.evaluated,
        run.successful,
        run.newest_heartbeat,
        results_json,
        run.data_docs_dir,
        seconds,
    )


def _aware_utc(moment: datetime, name: str, example: str) -> datetime:
    """``moment`` as a plain UTC datetime (also when given a pendulum one); ValueError when naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), {example}")
    moment = moment.astimezone(timezone.utc)
    return datetime(*moment.timetuple()[:6], moment.microsecond, tzinfo=timezone.utc)


def _parsed_url(url: str) -> Any:
    """The SQLAlchemy URL, or None when ``url`` does not parse (never echoed: it holds a password)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url)
    except Exception:
        return None


@functools.cache
def _gx() -> Any:
    """great_expectations, imported on first use with its INFO chatter silenced."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations

    return great_expectations


@functools.cache
def _rows_keeping_expectations() -> dict[str, type]:
    """drdrill's UnexpectedRowsExpectations, by class name; each keeps its (at most one) returned row.

    GX drops the returned rows unless the whole checkpoint runs with result_format COMPLETE, which
    would make the key checks fetch every duplicate value; keeping the one aggregate row puts the
    observed numbers (restored checksum, rows past the target) in the result and the finding.
    """
    from great_expectations.expectations import UnexpectedRowsExpectation

    def validate_keeping_rows(
        self: Any, metrics: dict, runtime_configuration: dict | None = None, execution_engine: Any = None
    ) -> Any:
        result = UnexpectedRowsExpectation._validate(self, metrics, runtime_configuration, execution_engine)
        if isinstance(result, dict) and isinstance(result.get("result"), dict):
            result["result"]["details"] = {"unexpected_rows": metrics.get("unexpected_rows_query.table")}
        return result

    class ExpectTableChecksumToMatchManifest(UnexpectedRowsExpectation):
        """The restored table's checksum (checks/checksum.py's expression) equals the manifest's."""

        _validate = validate_keeping_rows

    class ExpectNoRowsAfterRecoveryTarget(UnexpectedRowsExpectation):
        """No row of the recovered table was committed at or after the recovery target."""

        _validate = validate_keeping_rows

    class ExpectRowsBeforeRecoveryTargetToMatchSource(UnexpectedRowsExpectation):
        """The recovered table has as many rows before the recovery target as the source had."""

        _validate = validate_keeping_rows

    return {
        cls.__name__: cls
        for cls in (
            ExpectTableChecksumToMatchManifest,
            ExpectNoRowsAfterRecoveryTarget,
            ExpectRowsBeforeRecoveryTargetToMatchSource,
        )
    }


class _SuiteRun:
    """One validation of a server: builds the GX objects, runs the checkpoint, maps results to findings.

    The machinery every suite shares (ephemeral context, ``${VAR}`` datasources, redaction, Data Docs,
    results document, raised expectation → COULD_NOT_VERIFY); a subclass says which expectations run
    (``_validation_definitions``) and what each result means (``_result_findings``).
    """

    title = "validation"  # "The <title> could not run: …"
    nothing_checked = "no expectation ran."  # the reason given when nothing was evaluated

    def __init__(
        self, url: Any, docs_dir: Path, *, suite: str, run_name: str, schemas: Iterable[str]
    ) -> None:
        self.url = url  # sqlalchemy.engine.URL, or None when the given string did not parse
        self.docs_dir = docs_dir
        self.suite = suite
        self.run_name = run_name
        self.findings: list[Finding] = []
        self.evaluated = 0
        self.successful = 0
        self.newest_heartbeat: datetime | None = None
        self.data_docs_dir: Path | None = None
        self.timings: dict[str, float] = {}
        self._checkpoint_result: Any = None
        parsed = url
        self._secrets = _secret_forms(parsed.password or "") if parsed is not None else []
        self._server = (
            parsed.render_as_string(hide_password=True) if parsed is not None else "(unparsable URL)"
        )
        self._datasources: dict[str, Any] = {}
        self._batches: dict[str, Any] = {}
        self._engines: list[Any] = []
        self._environment: dict[str, str] = {}
        self._schema_variables = {
            schema: f"{URL_VARIABLE}_{n}" for n, schema in enumerate(sorted(set(schemas)))
        }
        if parsed is not None:  # one URL per database: GX 1.14+ wants the schema in the connection
            self._environment[URL_VARIABLE] = parsed.set(database="information_schema").render_as_string(
                hide_password=False
            )
            for schema, variable in self._schema_variables.items():
                self._environment[variable] = parsed.set(database=schema).render_as_string(
                    hide_password=False
                )

    # -- what a suite says about itself ------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """What this run was asked to check (JSON-ready), for the results document."""
        return {}

    def _validation_definitions(self, gx: Any, context: Any, root: Any) -> list[Any]:
        """The validation definitions to run; ``root`` is the datasource on information_schema."""
        raise NotImplementedError

    def _result_findings(
        self, check: str, result: Any, meta: dict[str, Any], evidence: dict[str, Any]
    ) -> list[Finding]:
        """The findings of one expectation result that did not raise."""
        raise NotImplementedError

    def finish(self) -> None:
        """Findings that depend on all results (called once, after the run, also when it failed)."""

    # -- secrets ---------------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with the password (plain or URL-quoted) replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def redact_tree(self, value: Any) -> Any:
        """A JSON-ready copy of ``value`` with every string redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact(str(key)): self.redact_tree(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_tree(item) for item in value]
        return _json_safe(value)

    # -- the steps ---------------------------------------------------------------------------------------

    def execute(self) -> None:
        if self.url is None:
            self.findings.append(
                Finding(
                    "COULD_NOT_VERIFY",
                    "The restored server's connection string is not a valid SQLAlchemy URL "
                    "(not shown: it holds a password).",
                    fix="Check the scratch connection's host, port, login and schema in Airflow.",
                    evidence={"server": self._server},
                )
            )
            return
        step = time.monotonic()
        gx = _gx()
        self.timings["import"] = time.monotonic() - step
        step = time.monotonic()
        try:
            context = self._context(gx)
            root = self._connect(context)
            validations = [] if root is None else self._validation_definitions(gx, context, root)
            self.timings["setup"] = time.monotonic() - step
            if validations:
                from great_expectations.core.run_identifier import RunIdentifier

                step = time.monotonic()
                checkpoint = context.checkpoints.add(
                    gx.Checkpoint(
                        name=self.suite,
                        validation_definitions=validations,
                        result_format="SUMMARY",
                    )
                )
                self._checkpoint_result = checkpoint.run(run_id=RunIdentifier(run_name=self.run_name))
                self.timings["run"] = time.monotonic() - step
                self._map_results()
                step = time.monotonic()
                self._build_data_docs(context)
                self.timings["data_docs"] = time.monotonic() - step
        finally:
            for engine in self._engines:
                engine.dispose()

    def _context(self, gx: Any) -> Any:
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites={
                DATA_DOCS_SITE: {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(self.docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                }
            },
            progress_bars=ProgressBarsConfig(globally=False),
        )
        return gx.get_context(mode="ephemeral", project_config=config, runtime_environment=self._environment)

    def _datasource(self, context: Any, name: str, variable: str) -> Any:
        datasource = context.data_sources.add_sql(
            name=name, connection_string="${" + variable + "}", kwargs={"connect_args": dict(_CONNECT_ARGS)}
        )
        self._engines.append(datasource.get_engine())
        return datasource

    def _connect(self, context: Any) -> Any:
        """The datasource on information_schema, or None plus a COULD_NOT_VERIFY finding when unreachable."""
        from great_expectations.datasource.fluent.interfaces import TestConnectionError

        try:
            return self._datasource(context, "restore", URL_VARIABLE)
        except TestConnectionError as exc:
            cause = self.redact(_first_line(str(exc.cause or exc)))
            self.findings.append(
                Finding(
                    "COULD_NOT_VERIFY",
                    f"Cannot connect to the restored server {self._server} to validate it: {cause}",
                    evidence={"server": self._server, "error": cause},
                )
            )
            return None

    def _read_existing_tables(self, root: Any) -> tuple[set[str], str]:
        """Base tables present in the run's schemas, and the exact collation this server has."""
        import sqlalchemy as sa

        schemas = sorted(self._schema_variables)
        query = sa.text(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
            "WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN :schemas"
        ).bindparams(sa.bindparam("schemas", expanding=True))
        with root.get_engine().connect() as connection:
            version = str(connection.execute(sa.text("SELECT VERSION()")).scalar())
            rows = connection.execute(query, {"schemas": schemas}).fetchall()
        collation = "utf8mb4_nopad_bin" if "mariadb" in version.lower() else "utf8mb4_0900_bin"
        return {f"{schema}.{name}" for schema, name in rows}, collation

    def _batch(self, context: Any, schema: str, table: str) -> Any:
        """The whole-table batch definition of ``schema.table`` (one datasource per schema)."""
        key = f"{schema}.{table}"
        if key not in self._batches:
            if schema not in self._datasources:
                self._datasources[schema] = self._datasource(
                    context, f"restore.{schema}", self._schema_variables[schema]
                )
            asset = self._datasources[schema].add_table_asset(name=table, table_name=table)
            self._batches[key] = asset.add_batch_definition_whole_table("whole_table")
        return self._batches[key]

    def _readable_batch(self, context: Any, schema: str, table: str) -> Any:
        """``_batch``, or None plus a COULD_NOT_VERIFY finding when the table cannot be read."""
        try:
            return self._batch(context, schema, table)
        except Exception as exc:  # GX's asset test query failed: the table exists but cannot be checked
            detail = self.redact(_first_line(str(exc)))
            self.findings.append(
                Finding(
                    "COULD_NOT_VERIFY",
                    f"{schema}.{table}: cannot be read for validation: {detail}",
                    evidence={"table": f"{schema}.{table}", "error": detail},
                )
            )
            return None

    def _validation(self, gx: Any, context: Any, name: str, batch: Any, expectations: list[Any]) -> list[Any]:
        suite = context.suites.add(gx.ExpectationSuite(name=f"{self.suite}.{name}"))
        for expectation in expectations:
            suite.add_expectation(expectation)
        return [
            context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
            )
        ]

    def _build_data_docs(self, context: Any) -> None:
        try:
            context.build_data_docs(site_names=[DATA_DOCS_SITE])
        except Exception as exc:  # the findings stand without the HTML; say why it is missing
            log.warning(
                "Data Docs could not be built in %s: %s", self.docs_dir, self.redact(_first_line(str(exc)))
            )
            return
        if (self.docs_dir / "index.html").is_file():
            self.data_docs_dir = self.docs_dir

    # -- results to findings ------------------------------------------------------------------------------

    def _expectation_results(self) -> Iterator[Any]:
        for validation_result in self._checkpoint_result.run_results.values():
            yield from validation_result.results

    def _map_results(self) -> None:
        for validation_result in self._checkpoint_result.run_results.values():
            statistics = validation_result.statistics
            self.evaluated += int(statistics.get("evaluated_expectations") or 0)
            self.successful += int(statistics.get("successful_expectations") or 0)
        for result in self._expectation_results():
            self.findings += self._findings_for(result)

    def _findings_for(self, result: Any) -> list[Finding]:
        config = result.expectation_config
        meta = (config.meta or {}).get("drdrill", {})
        check, subject = meta.get("check", "?"), meta.get("subject", "?")
        observed = _json_safe(dict(result.result or {}))
        evidence = {
            "expectation_type": config.type,
            "check": check,
            "subject": subject,
            "expected": {k: v for k, v in meta.items() if k not in ("check", "subject")},
            "observed": observed,
        }
        error = _raised_exception(result)
        if error is not None:
            detail = self.redact(error)
            return [
                Finding(
                    "COULD_NOT_VERIFY",
                    f"{subject}: the {check.replace('_', ' ')} check could not be "
                    f"evaluated ({config.type}): {_first_line(detail)}",
                    evidence={**evidence, "error": detail[:2000]},
                )
            ]
        return self._result_findings(check, result, meta, evidence)

    def _failure_findings(
        self,
        mappers: Mapping[str, Any],
        check: str,
        result: Any,
        meta: dict[str, Any],
        evidence: dict[str, Any],
    ) -> list[Finding]:
        """No finding for a success; else ``mappers[check]``'s finding(s), or COULD_NOT_VERIFY without one."""
        if result.success is True:
            return []
        mapper = mappers.get(check)
        if mapper is None:
            return [
                Finding(
                    "COULD_NOT_VERIFY",
                    f"{evidence['subject']}: expectation {evidence['expectation_type']} failed and drdrill "
                    "cannot say what it means.",
                    evidence=evidence,
                )
            ]
        findings: list[Finding] = mapper(meta, result.result or {}, evidence)
        return findings

    def results_document(self, seconds: float) -> dict[str, Any]:
        """The checkpoint result (summary and full validation results) with drdrill's reading of it."""
        document: dict[str, Any] = {"checkpoint": None, "validation_results": []}
        if self._checkpoint_result is not None:
            document["checkpoint"] = {
                "name": self._checkpoint_result.name,
                "run_id": self._checkpoint_result.run_id.to_json_dict(),
                **self._checkpoint_result.describe_dict(),
            }
            document["validation_results"] = [
                result.to_json_dict() for result in self._checkpoint_result.run_results.values()
            ]
        document["drdrill"] = {
            **self.settings(),
            "server": self._server,
            "evaluated": self.evaluated,
            "successful": self.successful,
            "newest_heartbeat": self.newest_heartbeat.isoformat() if self.newest_heartbeat else None,
            "findings": [finding.to_dict() for finding in self.findings],
            "seconds": round(seconds, 3),
            "timings": {step: round(value, 3) for step, value in self.timings.items()},
        }
        return document


class _RestoreRun(_SuiteRun):
    """The restore suite: per-table counts, checksums and keys, the object inventory, and the RPO."""

    title = "restore validation"
    nothing_checked = (
        "the manifest lists no tables or objects, or the suite definition switches every check off."
    )

    def __init__(
        self,
        url: Any,
        docs_dir: Path,
        *,
        manifest: Manifest,
        definition: dict[str, Any],
        disaster_at: datetime,
        rpo_objective: timedelta | None,
        heartbeat: Heartbeat | None,  # None when the RPO check does not run
    ) -> None:
        schemas = {t.schema for t in manifest.tables} | set(manifest.databases)
        if heartbeat:
            schemas.add(heartbeat.schema)
        super().__init__(
            url, docs_dir, suite=definition["suite"], run_name=manifest.backup_id, schemas=schemas
        )
        self.manifest = manifest
        self.definition = definition
        self.disaster_at = disaster_at
        self.rpo_objective = rpo_objective
        self.heartbeat = heartbeat
        self._missing_tables: list[str] = []

    def settings(self) -> dict[str, Any]:
        return {
            "backup_id": self.manifest.backup_id,
            "target": self.manifest.target,
            "definition": self.definition,
        }

    def _validation_definitions(self, gx: Any, context: Any, root: Any) -> list[Any]:
        existing, collation = self._read_existing_tables(root)
        validations: list[Any] = []
        for table in self.manifest.tables:
            if f"{table.schema}.{table.name}" not in existing:
                self._missing_tables.append(f"{table.schema}.{table.name}")
                continue
            validations += self._table_validation(gx, context, table)
        for kind in self.definition["inventory"]:
            validations += self._inventory_validations(gx, context, root, kind, collation)
        if self.heartbeat is not None:
            validations += self._rpo_validation(gx, context, existing)
        return validations

    def _table_validation(self, gx: Any, context: Any, table: TableFacts) -> list[Any]:
        qualified = f"{table.schema}.{table.name}"
        checks = self.definition["table_checks"]
        expectations: list[Any] = []
        if "row_count" in checks:
            expectations.append(
                gx.expectations.ExpectTableRowCountToEqual(
                    value=table.rows, meta=_meta("row_count", qualified, expected_rows=table.rows)
                )
            )
        if "checksum" in checks:
            try:
                query = checksum_mismatch_query(table)
            except ValueError as exc:
                self.findings.append(
                    Finding(
                        "COULD_NOT_VERIFY",
                        f"{qualified}: the checksum cannot be recomputed: {exc}.",
                        fix="Take a new backup: its manifest must list each table's columns and checksum.",
                        evidence={"table": qualified, "check": "checksum"},
                    )
                )
            else:
                expectations.append(
                    _rows_keeping_expectations()["ExpectTableChecksumToMatchManifest"](
                        unexpected_rows_query=query,
                        description=f"Content checksum of {qualified} equals the manifest's {table.checksum}",
                        meta=_meta(
                            "checksum", qualified, expected_checksum=table.checksum, expected_rows=table.rows
                        ),
                    )
                )
        key = list(table.primary_key)
        if "primary_key_unique" in checks and len(key) == 1:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeUnique(
                    column=key[0], meta=_meta("primary_key_unique", qualified, primary_key=key)
                )
            )
        elif "primary_key_unique" in checks and key:
            expectations.append(
                gx.expectations.ExpectCompoundColumnsToBeUnique(
                    column_list=key, meta=_meta("primary_key_unique", qualified, primary_key=key)
                )
            )
        if "primary_key_not_null" in checks:
            expectations += [
                gx.expectations.ExpectColumnValuesToNotBeNull(
                    column=column,
                    meta=_meta("primary_key_not_null", qualified, primary_key=key, column=column),
                )
                for column in key
            ]
        batch = self._readable_batch(context, table.schema, table.name) if expectations else None
        if batch is None:
            return []
        return self._validation(gx, context, qualified, batch, expectations)

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
        ordered = sorted(expected)
        chunks = [ordered[i : i + INVENTORY_CHUNK] for i in range(0, len(ordered), INVENTORY_CHUNK)]
        expectations = [
            gx.expectations.ExpectColumnDistinctValuesToContainSet(
                column="name", value_set=chunk, meta=_meta("inventory", kind, kind=kind, expected=chunk)
            )
            for chunk in chunks
        ]
        return self._validation(
            gx, context, f"inventory.{kind}", asset.add_batch_definition_whole_table("whole"), expectations
        )

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
                        f"{_utc_label(self.disaster_at)} cannot be bounded by the RPO objective of "
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
            meta=_meta("rpo", f"{spec.qualified_table}.{spec.column}", **evidence),
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
        mappers = {
            "row_count": _row_count_finding,
            "checksum": _checksum_finding,
            "primary_key_unique": _unique_key_finding,
            "primary_key_not_null": _not_null_key_finding,
            "inventory": _inventory_findings,
        }
        return self._failure_findings(mappers, check, result, meta, evidence)

    def _rpo_findings(self, result: Any, meta: dict[str, Any], evidence: dict[str, Any]) -> list[Finding]:
        newest = _as_utc_datetime((result.result or {}).get("observed_value"))
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
                    f"the data lost before the disaster at {_utc_label(self.disaster_at)} cannot be bounded "
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
                f"The newest heartbeat in the restore ({table}) is {_utc_label(newest)}, "
                f"{format_duration(lost)} before the disaster at {_utc_label(self.disaster_at)}: measured "
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


class _PitrRun(_SuiteRun):
    """The PITR suite: the heartbeat table stops exactly at the target, and the optional markers agree."""

    title = "PITR boundary validation"
    nothing_checked = "neither the heartbeat table nor the markers could be checked."

    def __init__(
        self,
        url: Any,
        docs_dir: Path,
        *,
        heartbeat: Heartbeat,
        target_time: datetime,
        expected_before: int,
        markers: tuple[str, str] | None,
    ) -> None:
        super().__init__(
            url,
            docs_dir,
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
        classes = _rows_keeping_expectations()
        return [
            classes["ExpectNoRowsAfterRecoveryTarget"](
                unexpected_rows_query=rows_after_target_query(spec.column, target),
                description=f"No row of {spec.qualified_table} has {spec.column} at or after the "
                f"recovery target {_utc_label(target)}",
                meta=_meta("pitr_after", subject, **evidence),
            ),
            classes["ExpectRowsBeforeRecoveryTargetToMatchSource"](
                unexpected_rows_query=rows_before_target_mismatch_query(spec.column, target, expected),
                description=f"{spec.qualified_table} has {expected:,} rows with {spec.column} before the "
                f"recovery target {_utc_label(target)}, as the source had",
                meta=_meta("pitr_before", subject, expected_before=expected, **evidence),
            ),
            # An observation (no bounds): the newest heartbeat recovered, for the outcome and the docs.
            gx.expectations.ExpectColumnMaxToBeBetween(
                column=spec.column,
                description=f"The newest {spec.column} recovered in {spec.qualified_table} (observed)",
                meta=_meta("pitr_newest", subject, **evidence),
            ),
        ]

    def _report_missing_heartbeat_table(self) -> None:
        spec = self.heartbeat
        evidence = {"table": spec.qualified_table, "expected_before": self.expected_before, **self.settings()}
        if self.expected_before > 0:
            self.findings.append(
                Finding(
                    "PITR_BOUNDARY_WRONG",
                    f"Rows committed before the target {_utc_label(self.target_time)} are missing: the "
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
                    f"Marker {before!r}, written before the target {_utc_label(self.target_time)}, is "
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
                meta=_meta("pitr_marker_before", table, marker=before, **evidence),
            ),
            gx.expectations.ExpectColumnValuesToNotBeInSet(
                column="label",
                value_set=[after],
                description=f"Marker {after!r}, written after the target, is absent",
                meta=_meta("pitr_marker_after", table, marker=after, **evidence),
            ),
        ]
        return self._validation(gx, context, table, batch, expectations)

    def _result_findings(
        self, check: str, result: Any, meta: dict[str, Any], evidence: dict[str, Any]
    ) -> list[Finding]:
        if check == "pitr_newest":
            # Fails only on an empty table (no max): then "pitr_before" names the missing rows, if any.
            self.newest_heartbeat = _as_utc_datetime((result.result or {}).get("observed_value"))
            return []
        mappers = {
            "pitr_after": _rows_after_target_finding,
            "pitr_before": _rows_before_target_finding,
            "pitr_marker_before": _marker_finding,
            "pitr_marker_after": _marker_finding,
        }
        return self._failure_findings(mappers, check, result, meta, evidence)


# -- one finding per failed expectation ------------------------------------------------------------------


def _row_count_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
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


def _checksum_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    rows = ((result.get("details") or {}).get("unexpected_rows") or [{}])[0]
    restored, restored_rows = rows.get("restored_checksum"), rows.get("restored_rows")
    if restored is None:
        observed = "differs"
    else:
        observed = f"is {restored} over {int(restored_rows):,} rows"
    return [
        Finding(
            "CHECKSUM_MISMATCH",
            f"{meta['subject']}: the restored content checksum {observed}; the manifest "
            f"says {meta['expected_checksum']} over {int(meta['expected_rows']):,} rows.",
            evidence={**evidence, "restored_checksum": None if restored is None else str(restored)},
        )
    ]


def _unique_key_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
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


def _not_null_key_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    return [
        Finding(
            "PRIMARY_KEY_VIOLATION",
            f"{meta['subject']}: primary-key column {meta['column']} is NULL in "
            f"{_count(result.get('unexpected_count'))} of {_count(result.get('element_count'))} rows of the "
            "restore.",
            evidence=evidence,
        )
    ]


def _inventory_findings(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    kind = meta["kind"]
    code = "TABLE_MISSING" if kind == "tables" else "OBJECT_MISSING"
    missing = list(result.get("partial_missing_list") or [])
    findings = [
        Finding(
            code,
            f"{_OBJECT_NOUN[kind].capitalize()} {name} is in the manifest but not in the restored server.",
            evidence={**evidence, "object": name, "kind": kind},
        )
        for name in missing
    ]
    unnamed = int(result.get("missing_count") or 0) - len(missing)
    if unnamed > 0 or not findings:
        findings.append(
            Finding(
                code,
                f"{max(unnamed, 1)} more {kind} of the manifest are not in the restored server "
                "(Great Expectations did not name them).",
                evidence={**evidence, "kind": kind},
            )
        )
    return findings


def _rows_after_target_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    row = ((result.get("details") or {}).get("unexpected_rows") or [{}])[0]
    count, newest = row.get("rows_after"), _as_utc_datetime(row.get("newest_after"))
    if count is None:
        rows = "Rows committed after the target are"
    else:
        rows = f"{int(count):,} {'row' if int(count) == 1 else 'rows'} committed after the target " + (
            "is" if int(count) == 1 else "are"
        )
    target = _utc_label(datetime.fromisoformat(meta["target_time"]))
    return [
        Finding(
            "PITR_BOUNDARY_WRONG",
            f"{meta['table']}: {rows} present (target {target}"
            + (f", newest {_utc_label(newest)}" if newest is not None else "")
            + "): the recovery replayed past its target.",
            evidence={
                **evidence,
                "rows_after": None if count is None else int(count),
                "newest_after": None if newest is None else newest.isoformat(),
            },
        )
    ]


def _rows_before_target_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    row = ((result.get("details") or {}).get("unexpected_rows") or [{}])[0]
    expected, found = int(meta["expected_before"]), row.get("rows_before")
    target = _utc_label(datetime.fromisoformat(meta["target_time"]))
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


def _marker_finding(
    meta: dict[str, Any], result: Mapping[str, Any], evidence: dict[str, Any]
) -> list[Finding]:
    target = _utc_label(datetime.fromisoformat(meta["target_time"]))
    if meta["check"] == "pitr_marker_before":
        message = (
            f"Marker {meta['marker']!r}, written before the target {target}, is missing from {meta['table']}."
        )
    else:
        message = (
            f"Marker {meta['marker']!r}, written after the target {target}, is present in {meta['table']}."
        )
    return [Finding("PITR_BOUNDARY_WRONG", message, evidence={**evidence, "marker": meta["marker"]})]


# -- small helpers -----------------------------------------------------------------------------------------


def _meta(check: str, subject: str, **values: Any) -> dict[str, Any]:
    return {"drdrill": {"check": check, "subject": subject, **_json_safe(values)}}


def _raised_exception(result: Any) -> str | None:
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


def _as_utc_datetime(value: Any) -> datetime | None:
    """A GX observed DATETIME (a naive UTC datetime, or its ISO string) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"observed heartbeat {value!r} is not a datetime")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _utc_label(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _key_label(columns: Sequence[str], value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) == len(columns):
        return "(" + ", ".join(f"{column}={item}" for column, item in zip(columns, value)) + ")"
    return f"{columns[0]}={value}" if len(columns) == 1 else str(value)


def _count(value: Any) -> str:
    return "?" if value is None else f"{int(value):,}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line if len(line) <= 300 else line[:297] + "..."


def _secret_forms(password: str) -> list[str]:
    """The password as written and as URL-quoted, longest first (so a form is not half-replaced)."""
    from urllib.parse import quote, quote_plus

    forms = {form for form in (password, quote(password, safe=""), quote_plus(password)) if form}
    return sorted(forms, key=len, reverse=True)


def _json_safe(value: Any) -> Any:
    """Plain JSON types for evidence and meta (datetimes as ISO strings, Decimals as strings)."""
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
