"""Benchmark the restore drill's RTO, stage by stage, against the bare steps it wraps, and its GX suite against CHECKSUM TABLE.

The script builds its own sandbox of the given size (the same one ``bench/backup.py`` uses: MariaDB
primary, moto S3, Slack sink; heartbeat writer and replica stopped after loading; a bigger buffer pool
for loading) in a new temporary directory on its own ports (default 32171-32174), takes one backup
per engine with the real backup drill (``run_backup_drill``), and then for each engine, in turn:

  drill  ``run_restore_drill`` on that backup: the RTO (declared disaster -> validated server) and
         its stages fetch_and_verify, provision_scratch, restore, validate (the Great Expectations
         suite), plus what lies between them (select_backup, reading the manifest);
  bare   the steps the drill wraps, timed one by one into a scratch server with the drill's own
         settings (``LocalScratch``: 256M buffer pool, no binlog):
           fetch      boto3 ``download_file`` of every object (16 MiB parts), no hashing;
           provision  ``mariadb-install-db`` + ``mariadbd`` until it answers (logical engines);
           restore    ``zstd -dc | mariadb``; or ``zstd -dc | tar -x`` + ``myloader``; or
                      ``zstd -dc | mbstream -x`` + ``mariadb-backup --prepare`` + ``--copy-back`` +
                      ``mariadbd`` started on the copied-back datadir (the drill starts it there too);
           validate   one ``CHECKSUM TABLE`` over every base table of the backed-up databases;
         then ``validate_restore`` (the drill's GX suite) called directly on that bare restore, and
         the cost of the definition checks (schema fingerprints): the suite again without them and
         with them, both on a warm server, the difference against the run without.

The report gives drill/bare per stage and for the total, and the GX suite's time against the one
CHECKSUM TABLE pass: the whole validate stage, the direct call, and the suite's SQL run alone (its
``run`` timing, without set-up and Data Docs). Great Expectations is imported once before any timing
(the import time is reported; an Airflow task pays it in every validate task). Bare restores are
checked too: CHECKSUM TABLE against the source's, and the GX suite must pass on them.

The heartbeat writer is stopped for timing, so one heartbeat row is written before the backups (the
suite's RPO check needs one); objectives are set to a day so the verdict is about the restore alone.
Everything the script started is stopped and deleted at the end, also on failure, Ctrl-C and SIGTERM.
Credentials reach the tools through option files only. On 2 cores a whole run takes about 1 minute at
60 MB and 4 minutes at 250 MB (estimated 14 at 1 GB; loading 1 GB alone takes 2-3 minutes).

Run:  .venv/bin/python bench/restore.py [--size 1GB] [--engines mariadb-dump,mydumper,mariabackup] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from common import (
    measurement_meta,
    BenchError,
    add_engines_argument,
    add_sandbox_arguments,
    bring_up,
    check_tools,
    engine_names,
    format_table,
    new_parser,
    run_cleaning_up,
    say,
    with_server_memory,
)
from drdrill.checks.checksum import quote_identifier
from drdrill.checks.restore_suite import validate_restore
from drdrill.checks.suite_definition import load_suite_definition
from drdrill.config import EngineOptions, Heartbeat, Objectives, Retention, Storage, Target
from drdrill.drills.backup.runner import run_backup_drill
from drdrill.drills.layouts import layout_for
from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.runner import RestoreServers, run_restore_drill
from drdrill.drills.restore.steps import MEASURED_STAGES, read_manifest
from drdrill.engines.accounts import accounts_object
from drdrill.endpoints import MySQLEndpoint
from drdrill.engines import get_engine
from drdrill.sandbox.heartbeat import HEARTBEAT_TABLE, beat_once
from drdrill.sandbox.stack import S3_BUCKET, Sandbox
from drdrill.servers.mariadb import InstanceSpec, LocalMariaDB
from drdrill.servers.scratch import (
    SCRATCH_BUFFER_POOL,
    LocalScratch,
    destroy,
    grant_admin,
    plan_local_scratch,
)
from drdrill.sizes import format_size, parse_size
from drdrill.storage.manifest import Manifest
from drdrill.storage.objectstore import PART_SIZE, ObjectStore
from drdrill.storage.s3 import S3ObjectStore
from drdrill.toolenv import tool_environment

# Below the ephemeral range (32768+) and above the tests' port bases (20000-32000); bench/backup.py uses 32070.
DEFAULT_PORT_BASE = 32170
RESTORE_TOOLS = {
    "mariadb-dump": ("mariadb",),
    "mydumper": ("tar", "myloader"),
    "mariabackup": ("mbstream", "mariadb-backup"),
}
SERVER_TOOLS = ("mariadb-install-db", "mariadbd")
# Objectives far above any bench run: the verdict then reflects the restore, not the stopped heartbeat writer.
LOOSE_OBJECTIVE = timedelta(days=1)
STAGES = ("fetch", "provision", "restore", "validate")
DRILL_STAGE = dict(zip(STAGES, MEASURED_STAGES, strict=True))  # the drill's RTO stages, in order


# -- targets and backups -----------------------------------------------------------------------------


def base_target(args: argparse.Namespace) -> Target:
    """The bench sandbox's ``shop`` database as a drill target (its connection ids are never looked up)."""
    schema, table = HEARTBEAT_TABLE.split(".")
    return Target(
        name="bench",
        source_conn_id="bench_source",
        databases=("shop",),
        storage=Storage(conn_id="bench_s3", bucket=S3_BUCKET, prefix="bench"),
        objectives=Objectives(rto=LOOSE_OBJECTIVE, rpo=LOOSE_OBJECTIVE),
        retention=Retention(keep_backups=1),
        engine_options=EngineOptions(parallel=args.parallel, compression_level=args.level),
        heartbeat=Heartbeat(schema=schema, table=table, column="beat_at"),
    )


def engine_target(base: Target, engine: str) -> Target:
    """One target per engine, so each engine's backup is the newest (and only) one of its target."""
    return dataclasses.replace(base, name=f"bench_{engine.replace('-', '_')}", engine=engine)


def run_id(kind: str, target: Target) -> str:
    """A unique drill run id."""
    return f"bench__{kind}__{target.name}__{uuid.uuid4().hex[:8]}"


def failure(what: str, verdict: str, findings: Sequence[Any]) -> BenchError:
    """A BenchError that names the drill and its findings."""
    lines = "\n  ".join(finding.sentence() for finding in findings) or "(no findings)"
    return BenchError(f"{what} ended {verdict}:\n  {lines}")


def take_backup(sandbox: Sandbox, target: Target, root: Path, history_url: str) -> dict[str, Any]:
    """One backup of the sandbox with the real backup drill; returns its id and size."""
    record, findings = run_backup_drill(
        target,
        sandbox.backup_endpoint(),
        S3ObjectStore(sandbox.s3_client(), S3_BUCKET),
        work_dir=root / "backup-work",
        history_url=history_url,
        run_id=run_id("backup", target),
        started_at=datetime.now(timezone.utc),
        signing_key=None,
    )
    if record.verdict != "passed":
        raise failure(f"the {target.engine} backup drill", record.verdict, findings)
    return {
        "backup_id": record.backup_id,
        "drill_s": round(sum(record.stage_seconds.values()), 2),
        "stored_bytes": record.details.get("stored_bytes") or 0,
        "raw_bytes": record.details.get("raw_bytes") or 0,
    }


# -- the drill ---------------------------------------------------------------------------------------


def measure_drill(sandbox: Sandbox, target: Target, root: Path, history_url: str) -> dict[str, Any]:
    """``run_restore_drill`` on the target's newest backup: RTO, its stages and the GX suite's own timings."""
    store = S3ObjectStore(sandbox.s3_client(), S3_BUCKET)
    servers = RestoreServers(source=sandbox.backup_endpoint(), replica=None, store=store)
    began = time.monotonic()
    record, findings = run_restore_drill(
        target,
        servers,
        RestoreOptions(backup="newest"),
        work_dir=root / "drill-work",
        history_url=history_url,
        run_id=run_id("restore", target),
        started_at=datetime.now(timezone.utc),
    )
    wall = time.monotonic() - began
    if record.verdict != "passed" or record.rto_seconds is None:
        raise failure(f"the {target.engine} restore drill", record.verdict, findings)
    results_key = str(record.details["results_uri"]).removeprefix(f"s3://{S3_BUCKET}/")
    document = json.loads(store.get_bytes(results_key) or b"{}")
    stages = {stage: record.stage_seconds.get(DRILL_STAGE[stage], 0.0) for stage in STAGES}
    return {
        "rto_s": record.rto_seconds,
        "wall_s": round(wall, 3),
        "stages": stages,
        "other_s": round(record.rto_seconds - sum(stages.values()), 3),
        "select_backup_s": record.stage_seconds.get("select_backup", 0.0),
        "gx_timings": document.get("drdrill", {}).get("timings", {}),
        "gx_expectations": document.get("drdrill", {}).get("evaluated"),
    }


# -- the bare steps ----------------------------------------------------------------------------------


def log_tail(log: Path, limit: int = 1500) -> str:
    """The end of a tool's log, for an error message."""
    with contextlib.suppress(FileNotFoundError):
        return log.read_text(errors="replace")[-limit:].strip()
    return "(no log)"


def decompress_into(archive: Path, consumer: list[str], log: Path) -> None:
    """``zstd -dc archive | consumer``, two processes joined by an OS pipe (no Python in the data path)."""
    with open(log, "ab") as err:
        processes = [
            subprocess.Popen(
                ["zstd", "-dc", str(archive)], stdout=subprocess.PIPE, stderr=err, env=tool_environment()
            )
        ]
        try:
            processes.append(
                subprocess.Popen(
                    consumer,
                    stdin=processes[0].stdout,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    env=tool_environment(),
                )
            )
            processes[0].stdout.close()  # type: ignore[union-attr]  # the consumer holds the read end now
            codes = [process.wait() for process in reversed(processes)]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    if any(codes):
        raise BenchError(
            f"zstd -dc {archive.name} | {consumer[0]} failed ({consumer[0]}, zstd exit codes {codes}): "
            f"{log_tail(log)}"
        )


def run_tool(argv: list[str], log: Path) -> None:
    """Run one tool to completion, its output into ``log``; a non-zero exit is a BenchError."""
    with open(log, "ab") as err:
        done = subprocess.run(argv, stdout=err, stderr=err, env=tool_environment(), check=False)
    if done.returncode != 0:
        raise BenchError(f"{argv[0]} {argv[1]} exited {done.returncode}: {log_tail(log)}")


class StepClock:
    """Times the bare steps in order; each step is (stage, label, seconds)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str, float]] = []

    def run(self, stage: str, label: str, call: Callable[[], object]) -> None:
        """Run ``call`` and keep its wall time under ``stage``."""
        began = time.monotonic()
        call()
        self.steps.append((stage, label, time.monotonic() - began))

    def stage_seconds(self) -> dict[str, float]:
        """Seconds per drill stage (0 for a stage with no bare step)."""
        return {stage: sum(s for st, _, s in self.steps if st == stage) for stage in STAGES}

    def describe(self, stage: str) -> str:
        """The stage's step: its name alone, or each step with its seconds when there are several."""
        parts = [(label, s) for st, label, s in self.steps if st == stage]
        if len(parts) == 1:
            return parts[0][0]
        return ", ".join(f"{label} {s:.1f}" for label, s in parts)


def download_objects(store: ObjectStore, target: Target, manifest: Manifest, into: Path) -> None:
    """boto3 download_file of every object of the backup (16 MiB multipart, as the uploads)."""
    from boto3.s3.transfer import TransferConfig

    into.mkdir(parents=True, exist_ok=True)
    config = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE)
    for entry in manifest.all_objects():
        key = layout_for(target).object_key(manifest.backup_id, entry.name)
        store.client.download_file(S3_BUCKET, key, str(into / entry.name), Config=config)


def start_server(scratch: LocalScratch) -> None:
    """Write the server's config; install the system tables if the datadir is empty; start it until it answers."""
    scratch.instance.initialize()
    scratch.instance.start()


def bare_restore(
    clock: StepClock, manifest: Manifest, files: Path, scratch: LocalScratch, work: Path, parallel: int
) -> None:
    """The engine's own tools, step by step, into ``scratch`` (started here; admin user created untimed)."""
    data = files / manifest.objects[0].name
    if manifest.engine == "mariabackup":
        unpacked = work / "xbstream"
        unpacked.mkdir()
        clock.run(
            "restore",
            "zstd|mbstream",
            lambda: decompress_into(data, ["mbstream", "-x", "-C", str(unpacked)], work / "mbstream.log"),
        )
        clock.run(
            "restore",
            "prepare",
            lambda: run_tool(
                ["mariadb-backup", "--prepare", f"--target-dir={unpacked}"], work / "prepare.log"
            ),
        )
        clock.run(
            "restore",
            "copy-back",
            lambda: run_tool(
                [
                    "mariadb-backup",
                    "--copy-back",
                    f"--target-dir={unpacked}",
                    f"--datadir={scratch.instance.datadir}",
                    f"--parallel={parallel}",
                ],
                work / "copy-back.log",
            ),
        )
        shutil.rmtree(unpacked)
        clock.run("restore", "start", lambda: start_server(scratch))
        grant_admin(scratch)
    else:
        clock.run("provision", "install-db + mariadbd", lambda: start_server(scratch))
        grant_admin(scratch)
        endpoint = scratch.endpoint()
        with endpoint.option_file() as option_file:
            if manifest.engine == "mariadb-dump":
                client = ["mariadb", f"--defaults-extra-file={option_file}", "--max-allowed-packet=256M"]
                clock.run("restore", "zstd|mariadb", lambda: decompress_into(data, client, work / "load.log"))
            else:
                unpacked = work / "mydumper"
                unpacked.mkdir()
                clock.run(
                    "restore",
                    "zstd|tar",
                    lambda: decompress_into(data, ["tar", "-x", "-C", str(unpacked)], work / "untar.log"),
                )
                clock.run(
                    "restore",
                    "myloader",
                    lambda: run_tool(
                        [
                            "myloader",
                            f"--defaults-file={option_file}",
                            "-h",
                            endpoint.host,
                            "-P",
                            str(endpoint.port),
                            "-d",
                            str(unpacked),
                            "-t",
                            str(parallel),
                            "-v",
                            "1",
                        ],
                        work / "myloader.log",
                    ),
                )
                shutil.rmtree(unpacked)
    if manifest.catchup:
        catchup = files / manifest.catchup.name
        with scratch.endpoint().option_file() as option_file:
            client = ["mariadb", f"--defaults-extra-file={option_file}", "--max-allowed-packet=256M"]
            clock.run("restore", "catch-up", lambda: decompress_into(catchup, client, work / "catchup.log"))
    accounts = accounts_object(manifest)
    if accounts is not None:  # the logins and grants the backup carries, as the drill restores them
        with scratch.endpoint().option_file() as option_file:
            client = ["mariadb", f"--defaults-extra-file={option_file}"]
            clock.run("restore", "accounts", lambda: decompress_into(files / accounts.name, client,
                                                                      work / "accounts.log"))


def base_tables(endpoint: MySQLEndpoint, databases: Sequence[str]) -> list[str]:
    """Every base table of ``databases``, quoted as ``schema.table``."""
    marks = ", ".join(["%s"] * len(databases))
    rows = endpoint.fetch_all(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
        f"WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ({marks}) ORDER BY 1, 2",
        tuple(databases),
    )
    return [f"{quote_identifier(schema)}.{quote_identifier(name)}" for schema, name in rows]


def checksum_tables(endpoint: MySQLEndpoint, tables: Sequence[str]) -> dict[str, int | None]:
    """One ``CHECKSUM TABLE`` statement over ``tables``; returns each table's checksum."""
    connection = endpoint.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CHECKSUM TABLE {', '.join(tables)}")
            return {name: checksum for name, checksum in cursor.fetchall()}
    finally:
        connection.close()


def measure_bare(
    sandbox: Sandbox,
    target: Target,
    backup_id: str,
    source_checksums: dict[str, int | None],
    root: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The drill's steps done with the bare tools, timed one by one; then the GX suite on that restore."""
    store = S3ObjectStore(sandbox.s3_client(), S3_BUCKET)
    manifest = read_manifest(store, target, backup_id, signing_key=None)
    work = root / "bare" / target.name
    work.mkdir(parents=True)
    scratch = plan_local_scratch(root / "bare", f"bare-{manifest.engine}")
    clock = StepClock()
    try:
        files = work / "files"
        clock.run("fetch", "download_file", lambda: download_objects(store, target, manifest, files))
        bare_restore(clock, manifest, files, scratch, work, args.parallel)
        shutil.rmtree(files)
        endpoint = scratch.endpoint()
        tables = base_tables(endpoint, manifest.databases)
        checksums: dict[str, int | None] = {}
        clock.run("validate", "CHECKSUM TABLE", lambda: checksums.update(checksum_tables(endpoint, tables)))
        if checksums != source_checksums:
            raise BenchError(
                f"the bare {manifest.engine} restore's CHECKSUM TABLE differs from the source's: "
                f"{checksums} != {source_checksums}"
            )
        def suite(name: str, definition: dict[str, Any] | None = None, parallel: int = args.parallel) -> Any:
            outcome = validate_restore(
                endpoint.sqlalchemy_url(),
                manifest,
                results_dir=work / name,
                disaster_at=datetime.now(timezone.utc),
                rpo_objective=target.objectives.rpo,
                heartbeat=target.heartbeat,
                definition=definition,
                parallel=parallel,
            )
            if outcome.findings:
                raise failure(
                    f"the GX suite ({name}) on the bare {manifest.engine} restore", "with findings", outcome.findings
                )
            return outcome

        outcome = suite("gx")
        document = json.loads(outcome.results_json.read_text())
        without = suite("gx-without-definitions", {**load_suite_definition(), "definitions": []})
        warm = suite("gx-warm")
        one_lane = suite("gx-warm-one-lane", parallel=1)
        return {
            "stages": {stage: round(seconds, 3) for stage, seconds in clock.stage_seconds().items()},
            "steps": [
                {"stage": stage, "step": label, "seconds": round(s, 3)} for stage, label, s in clock.steps
            ],
            "describe": {stage: clock.describe(stage) for stage in STAGES if clock.describe(stage)},
            "tables": len(tables),
            "gx_direct_s": round(outcome.seconds, 3),
            "gx_direct_timings": document["drdrill"]["timings"],
            "gx_expectations": f"{outcome.successful}/{outcome.evaluated}",
            "gx_warm_s": round(warm.seconds, 3),
            "gx_warm_one_lane_s": round(one_lane.seconds, 3),
            "definitions": {
                "objects": len(manifest.schema),
                "expectations": outcome.evaluated - without.evaluated,
                "suite_without_s": round(without.seconds, 3),
                "suite_with_s": round(warm.seconds, 3),
                "cost_s": round(warm.seconds - without.seconds, 3),
                "cost_percent": round(100 * (warm.seconds - without.seconds) / without.seconds, 1),
            },
        }
    finally:
        destroy(scratch)
        shutil.rmtree(work, ignore_errors=True)


# -- one engine, all engines -------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator/denominator rounded, None when either is missing or the denominator is zero."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def summarize(
    engine: str, backup: dict[str, Any], drill: dict[str, Any], bare: dict[str, Any]
) -> dict[str, Any]:
    """One engine's result: drill and bare per stage with ratios, and the GX suite against CHECKSUM TABLE."""
    bare_total = sum(bare["stages"].values())
    checksum_s = bare["stages"]["validate"]
    gx_run = drill["gx_timings"].get("run")
    direct_run = bare["gx_direct_timings"].get("run")
    return {
        "engine": engine,
        "backup": backup,
        "drill": drill,
        "bare": bare,
        "stage_ratios": {stage: ratio(drill["stages"][stage], bare["stages"][stage]) for stage in STAGES},
        "rto_s": drill["rto_s"],
        "bare_total_s": round(bare_total, 3),
        "total_ratio": ratio(drill["rto_s"], bare_total),
        "checksum_s": checksum_s,
        "gx": {
            "drill_validate_s": drill["stages"]["validate"],
            "drill_validate_ratio": ratio(drill["stages"]["validate"], checksum_s),
            "drill_run_s": gx_run,
            "drill_run_ratio": ratio(gx_run, checksum_s),
            "direct_s": bare["gx_direct_s"],
            "direct_ratio": ratio(bare["gx_direct_s"], checksum_s),
            "direct_run_s": direct_run,
            "direct_run_ratio": ratio(direct_run, checksum_s),
            "warm_s": bare["gx_warm_s"],
            "warm_ratio": ratio(bare["gx_warm_s"], checksum_s),
            "warm_one_lane_s": bare["gx_warm_one_lane_s"],
            "warm_one_lane_ratio": ratio(bare["gx_warm_one_lane_s"], checksum_s),
            "expectations": bare["gx_expectations"],
        },
        "definitions": bare["definitions"],
    }


def bench(root: Path, args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Bring up the sandbox, back up with every engine, then drill and bare restores per engine."""
    sandbox = with_server_memory(
        Sandbox(directory=root / "sandbox", port_base=args.port_base), args.buffer_pool
    )
    history_url = f"sqlite:///{root / 'history.sqlite'}"
    try:
        facts = bring_up(sandbox, args.size)
        with contextlib.closing(sandbox.primary.root_connect()) as connection:
            beat_once(connection, sandbox.primary.spec.server_id)  # the writer is stopped: give RPO one beat
        source_checksums = checksum_tables(
            sandbox.primary.root_endpoint(), base_tables(sandbox.primary.root_endpoint(), ("shop",))
        )
        facts["gx_import_s"] = import_great_expectations()
        base = base_target(args)
        backups: dict[str, dict[str, Any]] = {}
        for engine in args.engines:
            say(f"  {engine}: backup drill")
            backups[engine] = take_backup(sandbox, engine_target(base, engine), root, history_url)
            say(
                f"    {backups[engine]['backup_id']}: {format_size(backups[engine]['stored_bytes'])} stored "
                f"in {backups[engine]['drill_s']:.1f} s"
            )
        results = []
        for engine in args.engines:
            target = engine_target(base, engine)
            say(f"  {engine}: restore drill")
            drill = measure_drill(sandbox, target, root, history_url)
            say(f"    RTO {drill['rto_s']:.1f} s")
            say(f"  {engine}: bare steps")
            bare = measure_bare(sandbox, target, backups[engine]["backup_id"], source_checksums, root, args)
            say(f"    {sum(bare['stages'].values()):.1f} s")
            results.append(summarize(engine, backups[engine], drill, bare))
        return facts, results
    finally:
        stop_servers_below(root)
        sandbox.down(purge=True)


def import_great_expectations() -> float:
    """Import Great Expectations once, before any timing (its INFO chatter silenced); returns the seconds."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    began = time.monotonic()
    import great_expectations  # noqa: F401

    return round(time.monotonic() - began, 2)


def stop_servers_below(root: Path) -> None:
    """Stop any scratch mariadbd still running from below ``root`` (a step interrupted before its own clean-up).

    Servers are found by their option files, including those behind the short /tmp symlinks the drill
    makes for long paths; each is stopped by the pid of its own ``--defaults-file``. The sandbox's own
    servers are stopped too (``Sandbox.down`` then finds them stopped).
    """
    base_dirs = {cnf.parent for cnf in root.rglob("mariadb.cnf")}
    links = [
        link
        for link in Path(tempfile.gettempdir()).glob("drdrill-*")
        if link.is_symlink() and link.resolve().is_relative_to(root)
    ]
    for base_dir in [*base_dirs, *links]:
        with contextlib.suppress(Exception):
            LocalMariaDB(InstanceSpec(base_dir.name, base_dir, 0, 0)).stop()
    for link in links:
        link.unlink(missing_ok=True)


# -- report ------------------------------------------------------------------------------------------


def seconds_cell(value: float | None) -> str:
    """Seconds with two decimals, '-' when not measured."""
    return "-" if value is None else f"{value:.2f}"


def ratio_cell(value: float | None) -> str:
    """A ratio as '1.23x', '-' when there is none."""
    return "-" if value is None else f"{value:.2f}x"


STAGE_COLUMNS = [
    ("engine", "engine", "{}"),
    ("stage", "stage", "{}"),
    ("drill s", "drill", "{}"),
    ("bare s", "bare", "{}"),
    ("drill/bare", "ratio", "{}"),
    ("bare steps (s)", "steps", "{}"),
]
GX_COLUMNS = [
    ("engine", "engine", "{}"),
    ("CHECKSUM TABLE s", "checksum", "{}"),
    ("drill validate s (x checksum)", "drill_validate", "{}"),
    ("its SQL run s (x)", "drill_run", "{}"),
    ("direct suite s (x)", "direct", "{}"),
    ("its SQL run s (x)", "direct_run", "{}"),
    ("warm, in --parallel lanes s (x)", "warm", "{}"),
    ("warm, one lane s (x)", "warm_one_lane", "{}"),
    ("expectations passed", "expectations", "{}"),
]
DEFINITION_COLUMNS = [
    ("engine", "engine", "{}"),
    ("objects", "objects", "{}"),
    ("expectations", "expectations", "{}"),
    ("suite without s", "suite_without_s", "{}"),
    ("suite with s", "suite_with_s", "{}"),
    ("cost s", "cost_s", "{}"),
    ("cost %", "cost_percent", "{}"),
]


def stage_rows(result: dict[str, Any]) -> list[dict[str, str]]:
    """Table rows for one engine: each stage, the RTO's remainder, and the total."""
    drill, bare = result["drill"], result["bare"]
    rows = []
    for stage in STAGES:
        bare_s = bare["stages"][stage] or None  # mariabackup: the server start belongs to restore
        rows.append(
            {
                "engine": result["engine"],
                "stage": stage,
                "drill": seconds_cell(drill["stages"][stage]),
                "bare": seconds_cell(bare_s),
                "ratio": ratio_cell(result["stage_ratios"][stage] if bare_s else None),
                "steps": bare["describe"].get(stage, "(in restore)"),
            }
        )
    rows.append(
        {
            "engine": "",
            "stage": "other",
            "drill": seconds_cell(drill["other_s"]),
            "bare": "-",
            "ratio": "-",
            "steps": f"select_backup {drill['select_backup_s']:.2f}, manifest, gaps",
        }
    )
    rows.append(
        {
            "engine": "",
            "stage": "TOTAL",
            "drill": seconds_cell(result["rto_s"]) + " RTO",
            "bare": seconds_cell(result["bare_total_s"]),
            "ratio": ratio_cell(result["total_ratio"]),
            "steps": "sum of the bare steps",
        }
    )
    return rows


def gx_row(result: dict[str, Any]) -> dict[str, str]:
    """Table row for one engine: GX timings, each with its multiple of the CHECKSUM TABLE pass."""
    gx = result["gx"]

    def cell(name: str) -> str:
        return f"{seconds_cell(gx[name + '_s'])} ({ratio_cell(gx[name + '_ratio'])})"

    return {
        "engine": result["engine"],
        "checksum": seconds_cell(result["checksum_s"]),
        "drill_validate": cell("drill_validate"),
        "drill_run": cell("drill_run"),
        "direct": cell("direct"),
        "direct_run": cell("direct_run"),
        "warm": cell("warm"),
        "warm_one_lane": cell("warm_one_lane"),
        "expectations": gx["expectations"],
    }


def render_report(facts: dict[str, Any], results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Heading, backups, the stage table and the GX-versus-checksum table."""
    heading = (
        f"Restore benchmark on {platform.node()} ({os.cpu_count()} CPUs): {facts['rows']:,} rows, InnoDB "
        f"{format_size(facts['innodb_bytes'])} (requested {format_size(args.size)}); parallel={args.parallel}, "
        f"zstd -{args.level}; scratch servers {SCRATCH_BUFFER_POOL} buffer pool (the drill's); one run each, "
        f"drill first, then bare"
    )
    backups = "Backups (real backup drill): " + "; ".join(
        f"{r['engine']} {format_size(r['backup']['stored_bytes'])} in {r['backup']['drill_s']:.1f} s"
        for r in results
    )
    stages = format_table([row for result in results for row in stage_rows(result)], STAGE_COLUMNS)
    gx = format_table([gx_row(result) for result in results], GX_COLUMNS)
    definitions = format_table(
        [{"engine": r["engine"], **{k: str(v) for k, v in r["definitions"].items()}} for r in results],
        DEFINITION_COLUMNS,
    )
    notes = (
        "drill stages: fetch_and_verify, provision_scratch, restore, validate; 'other' is the rest of the RTO.\n"
        "GX suite: 'SQL run' is the checkpoint run alone (no context set-up, no Data Docs); 'direct' is "
        "validate_restore called on the bare restore.\n"
        f"Great Expectations was imported once before timing ({facts['gx_import_s']:.1f} s); "
        "an Airflow validate task pays this on top."
    )
    return (
        f"{heading}\n{backups}\n\nRTO by stage, drill vs bare steps\n{stages}\n\n"
        f"GX suite vs one CHECKSUM TABLE pass over all tables\n{gx}\n\n"
        f"Definition checks (schema fingerprints): the suite on the warm bare restore without and with them\n"
        f"{definitions}\n\n{notes}"
    )


def run_facts(args: argparse.Namespace, facts: dict[str, Any]) -> dict[str, Any]:
    """The settings and tool versions the numbers were measured with (JSON ``meta``)."""
    return measurement_meta({
        "requested_bytes": args.size,
        **facts,
        "parallel": args.parallel,
        "level": args.level,
        "buffer_pool": args.buffer_pool,
        "scratch_buffer_pool": SCRATCH_BUFFER_POOL,
        "heartbeat": "stopped",
        "replica": "stopped",
        "tool_versions": {name: get_engine(name).tool_version() for name in args.engines},
    })


# -- command line ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options, with engines resolved to canonical names and the size parsed to bytes."""
    parser = new_parser("bench/restore.py", __doc__)
    parser.add_argument("--size", default="1GB", help="database size, e.g. 1GB, 250MB (default 1GB)")
    add_engines_argument(parser)
    parser.add_argument(
        "--parallel", type=int, default=2, help="tool and zstd threads, backup and restore (default 2)"
    )
    parser.add_argument("--level", type=int, default=3, help="zstd level of the backups (default 3)")
    add_sandbox_arguments(parser, port_base=DEFAULT_PORT_BASE, buffer_pool="1G",
                          buffer_pool_help="innodb_buffer_pool_size of the sandbox primary (default 1G; "
                          "scratch servers keep the drill's)")
    args = parser.parse_args(argv)
    try:
        args.engines = engine_names(args.engines)
        args.size = parse_size(args.size)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; exits 130 when interrupted, 1 when a drill or step failed (after cleaning up)."""
    args = parse_args(argv)
    check_tools(
        args.engines, [*SERVER_TOOLS, *(tool for name in args.engines for tool in RESTORE_TOOLS[name])]
    )
    facts, results = run_cleaning_up(lambda root: bench(root, args), work_dir=args.work_dir,
                                     temp_prefix="drdrill-rbench-", failures=(BenchError,))
    print(render_report(facts, results, args))
    if args.json:
        args.json.write_text(json.dumps({"meta": run_facts(args, facts), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
