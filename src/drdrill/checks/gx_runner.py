"""The Great Expectations Core 1.x machinery both suites share, imported only when a suite runs.

An ephemeral context (no GX config file is written), one SQL datasource per schema whose connection
string is a ``${DRDRILL_RESTORE_URL…}`` variable held only in the context's ``runtime_environment``,
the checkpoint run, the Data Docs site, the results JSON, and whatever stopped a run turned into a
COULD_NOT_VERIFY finding; neither the results JSON nor the Data Docs contain the password.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from drdrill.checks.evidence import first_line
from drdrill.checks.redaction import Redactor
from drdrill.checks.result_findings import findings_for_result
from drdrill.endpoints import SESSION_INIT
from drdrill.findings import Finding

log = logging.getLogger(__name__)

RESULTS_FILE = "validation_results.json"
DATA_DOCS_DIR = "data_docs"
DATA_DOCS_SITE = "drdrill"
URL_VARIABLE = "DRDRILL_RESTORE_URL"  # GX config substitution; the value lives only in memory
# Checksums render TIMESTAMP columns in the session time zone; the manifest's were taken in UTC.
_CONNECT_ARGS = {"init_command": SESSION_INIT, "connect_timeout": 10}


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


def run_suite(run: SuiteRun, started: float) -> ValidationOutcome:
    """Run ``run``, turning whatever stopped it into a finding, and write its results JSON; never raises."""
    results_dir = run.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(run.docs_dir, ignore_errors=True)  # a re-run replaces the site, it does not add to it
    try:
        run.execute()
    except Exception as exc:  # whatever stopped the suite, the drill must not read it as a pass
        message = run.redactor.redact(first_line(str(exc)))
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
    results_json.write_text(
        json.dumps(run.redactor.redact_tree(run.results_document(seconds)), indent=2, default=str)
    )
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


def aware_utc(moment: datetime, name: str, example: str) -> datetime:
    """``moment`` as a plain UTC datetime (also when given a pendulum one); ValueError when naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), {example}")
    moment = moment.astimezone(timezone.utc)
    return datetime(*moment.timetuple()[:6], moment.microsecond, tzinfo=timezone.utc)


def parsed_url(url: str) -> Any:
    """The SQLAlchemy URL, or None when ``url`` does not parse (never echoed: it holds a password)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url)
    except Exception:
        return None


@functools.cache
def great_expectations_module() -> Any:
    """great_expectations, imported on first use with its INFO chatter silenced."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations

    return great_expectations


@functools.cache
def rows_keeping_expectations() -> dict[str, type]:
    """drdrill's UnexpectedRowsExpectations, by class name; each keeps its returned rows (at most a chunk's).

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

    class AggregateRowExpectation(UnexpectedRowsExpectation):
        """An expectation whose query aggregates the whole batch into at most one row: its rows are the whole
        answer, so the query runs once (GX's own asks for the rows and, in a second query, their count)."""

        metric_dependencies = ("unexpected_rows_query.table",)

        def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                      execution_engine: Any = None) -> Any:
            rows = metrics["unexpected_rows_query.table"]
            return {"success": not rows,
                    "result": {"observed_value": len(rows), "details": {"unexpected_rows": rows}}}

    class ExpectTableChecksumToMatchManifest(AggregateRowExpectation):
        """The restored table's checksum (checks/checksum.py's expression) equals the manifest's."""

    class ExpectDefinitionsToMatchManifest(UnexpectedRowsExpectation):
        """Every restored object of a chunk has the manifest's definition digest (its rows name those that differ)."""

        _validate = validate_keeping_rows

    class ExpectNoRowsAfterRecoveryTarget(AggregateRowExpectation):
        """No row of the recovered table was committed at or after the recovery target."""

    class ExpectRowsBeforeRecoveryTargetToMatchSource(AggregateRowExpectation):
        """The recovered table has as many rows before the recovery target as the source had."""

    return {
        cls.__name__: cls
        for cls in (
            ExpectTableChecksumToMatchManifest,
            ExpectDefinitionsToMatchManifest,
            ExpectNoRowsAfterRecoveryTarget,
            ExpectRowsBeforeRecoveryTargetToMatchSource,
        )
    }


class SuiteRun:
    """One validation of a server: builds the GX objects, runs the checkpoint, maps results to findings.

    The machinery every suite shares (ephemeral context, ``${VAR}`` datasources, redaction, Data Docs,
    results document, raised expectation → COULD_NOT_VERIFY); a subclass says which expectations run
    (``_validation_definitions``) and what each result means (``_result_findings``).
    """

    title = "validation"  # "The <title> could not run: …"
    nothing_checked = "no expectation ran."  # the reason given when nothing was evaluated

    def __init__(
        self, sqlalchemy_url: str, results_dir: Path, *, suite: str, run_name: str, schemas: Iterable[str],
        parallel: int = 1,
    ) -> None:
        self.url = parsed_url(sqlalchemy_url)  # sqlalchemy.engine.URL, or None when it did not parse
        self.results_dir = Path(results_dir)
        self.docs_dir = self.results_dir / DATA_DOCS_DIR
        self.suite = suite
        self.run_name = run_name
        self.findings: list[Finding] = []
        self.evaluated = 0
        self.successful = 0
        self.newest_heartbeat: datetime | None = None
        self.server_version = ""  # the validated server's VERSION(), once connected
        self.data_docs_dir: Path | None = None
        self.timings: dict[str, float] = {}
        self.preloaded = False  # Great Expectations was imported before this run started
        self._checkpoint_result: Any = None
        parsed = self.url
        self.redactor = Redactor((parsed.password or "") if parsed is not None else "")
        self._server = (
            parsed.render_as_string(hide_password=True) if parsed is not None else "(unparsable URL)"
        )
        self.parallel = max(1, parallel)  # lanes: checkpoints run at once, each on datasources of its own
        self._lane_of: dict[str, int] = {}  # validation definition name -> lane
        self._datasources: dict[tuple[str, int], Any] = {}
        self._batches: dict[tuple[str, int], Any] = {}
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

    # -- the steps ---------------------------------------------------------------------------------------

    def execute(self) -> None:
        """Build the suite's validations in the server, run them as one checkpoint, read the results."""
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
        self.preloaded = "great_expectations" in sys.modules  # a worker that preloads it (celery_preload)
        gx = great_expectations_module()
        self.timings["import"] = time.monotonic() - step
        step = time.monotonic()
        try:
            context = self._context(gx)
            root = self._connect(context)
            validations = [] if root is None else self._validation_definitions(gx, context, root)
            self.timings["setup"] = time.monotonic() - step
            if validations:
                step = time.monotonic()
                self._checkpoint_result = self._run_checkpoints(gx, context, validations)
                self.timings["run"] = time.monotonic() - step
                self._map_results()
                step = time.monotonic()
                self._build_data_docs(context)
                self.timings["data_docs"] = time.monotonic() - step
        finally:
            for engine in self._engines:
                engine.dispose()

    def _run_checkpoints(self, gx: Any, context: Any, validations: list[Any]) -> Any:
        """One checkpoint per lane, run at once (each lane's batches on datasources of their own, so no two threads
        share a GX execution engine), their results joined into one result of the suite's checkpoint, in the
        validations' order."""
        from concurrent.futures import ThreadPoolExecutor

        from great_expectations.checkpoint.checkpoint import CheckpointResult
        from great_expectations.core.run_identifier import RunIdentifier

        run_id = RunIdentifier(run_name=self.run_name)
        whole = gx.Checkpoint(name=self.suite, validation_definitions=validations, result_format="SUMMARY")
        lanes: dict[int, list[Any]] = {}
        for validation in validations:
            lanes.setdefault(self._lane_of.get(validation.name, 0), []).append(validation)
        if len(lanes) == 1:
            return context.checkpoints.add(whole).run(run_id=run_id)
        checkpoints = [context.checkpoints.add(gx.Checkpoint(name=f"{self.suite}.lane{lane}", validation_definitions=group,
                                                             result_format="SUMMARY"))
                       for lane, group in sorted(lanes.items())]
        with ThreadPoolExecutor(max_workers=len(checkpoints), thread_name_prefix="drdrill-validate") as pool:
            results = list(pool.map(lambda checkpoint: checkpoint.run(run_id=run_id), checkpoints))
        by_suite = {key.expectation_suite_identifier.name: (key, result) for lane_result in results
                    for key, result in lane_result.run_results.items()}
        ordered = dict(by_suite[validation.suite.name] for validation in validations if validation.suite.name in by_suite)
        return CheckpointResult(run_id=run_id, run_results=ordered, checkpoint_config=whole)

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
            cause = self.redactor.redact(first_line(str(exc.cause or exc)))
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
        self.server_version = version
        collation = "utf8mb4_nopad_bin" if "mariadb" in version.lower() else "utf8mb4_0900_bin"
        return {f"{schema}.{name}" for schema, name in rows}, collation

    def _batch(self, context: Any, schema: str, table: str, lane: int = 0) -> Any:
        """The whole-table batch definition of ``schema.table`` (one datasource per schema and lane)."""
        key = (f"{schema}.{table}", lane)
        if key not in self._batches:
            if (schema, lane) not in self._datasources:
                self._datasources[(schema, lane)] = self._datasource(
                    context, f"restore.{schema}" + (f".lane{lane}" if lane else ""), self._schema_variables[schema]
                )
            asset = self._datasources[(schema, lane)].add_table_asset(name=table, table_name=table)
            self._batches[key] = asset.add_batch_definition_whole_table("whole_table")
        return self._batches[key]

    def _readable_batch(self, context: Any, schema: str, table: str, lane: int = 0) -> Any:
        """``_batch``, or None plus a COULD_NOT_VERIFY finding when the table cannot be read."""
        try:
            return self._batch(context, schema, table, lane)
        except Exception as exc:  # GX's asset test query failed: the table exists but cannot be checked
            detail = self.redactor.redact(first_line(str(exc)))
            self.findings.append(
                Finding(
                    "COULD_NOT_VERIFY",
                    f"{schema}.{table}: cannot be read for validation: {detail}",
                    evidence={"table": f"{schema}.{table}", "error": detail},
                )
            )
            return None

    def _validation(self, gx: Any, context: Any, name: str, batch: Any, expectations: list[Any],
                    lane: int = 0) -> list[Any]:
        suite = context.suites.add(gx.ExpectationSuite(name=f"{self.suite}.{name}"))
        for expectation in expectations:
            suite.add_expectation(expectation)
        self._lane_of[suite.name] = lane
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
                "Data Docs could not be built in %s: %s",
                self.docs_dir,
                self.redactor.redact(first_line(str(exc))),
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
            self.findings += findings_for_result(result, self._result_findings, self.redactor.redact)

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
            "great_expectations_preloaded": self.preloaded,
        }
        return document
