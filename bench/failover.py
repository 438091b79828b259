"""Benchmark the failover drill: fault -> writable and lost transactions, drill vs the bare promotion statements.

The script starts its own MariaDB primary and GTID replica (``LocalMariaDB``, ports --port-base+1 and +2,
default 32371-32372) below --work-dir (default /tmp/drdrill-bench-failover), with the logins a failover
drill uses on both: an admin login (promotion, rejoin, flashback), the canary's data-only login, and a
DML-only application login (random passwords, reaching tools through option files only). Then, for each
scenario, --repeat times, it fails the pair over once with the drill and once bare (which goes first
alternates), each starting from a healthy pair (replication running, replica caught up):

  idle  nothing but the drill's own canary writes;
  load  --load-threads application connections commit --batch-rows-row INSERT transactions into
        drill.bench_load on the primary, back to back; the fault comes after --load-seconds of load.
        Each connection stops at its first error (the fault), so none writes to the restarted old primary.

  drill  the drill's own step list (``steps.FAIL_OVER``, as the DAG and ``drdrill failover`` run it, fault:
         kill): preflight, start_canary, inject_fault, detect, promote, redirect (no connection to move
         here), verify_writes, measure, then fail_back and verify_consistency, and the canary stopped;
  bare   SIGKILL of the primary's mariadbd, then on the replica: Gtid_IO_Pos (SHOW SLAVE STATUS),
         SELECT MASTER_GTID_WAIT to it, STOP SLAVE, RESET SLAVE ALL, SET GLOBAL read_only=OFF, one INSERT.
         Then, untimed, the old primary is restarted (fault.undo) and the pair put back with the drill's
         own fail_back and verify_consistency steps (preflight, also untimed, gives the pid to kill).

Measured per failover: fault -> writable (drill: judge's rto_seconds; bare: SIGKILL -> INSERT committed),
detection and promotion seconds (bare: no detection, promotion starts at the kill), the MASTER_GTID_WAIT part
of the promotion, the replica's backlog just before the fault (GTIDs not applied yet), lost transactions
(GTIDs in the old primary's binlog after its restart that the new primary had not applied at promotion;
the drill lists them from the binlog, bare counts them by position), load transactions whose COMMIT
returned but that the new primary lacks, canary rows lost (drill), and the seconds restore_topology took (the fail_back step)
(after both paths: it is the same call). The report gives median and max per metric, scenario and kind,
and names every failover the pair could not be put back after.

Objectives and failover_drill.max_replica_lag are set to a day, so neither lag nor loss stops a run. A
failover in which a library step raises is reported with the error and left out of the numbers; one that
fail_back or verify_consistency cannot put back keeps its numbers and is reported too; after either,
the pair is rebuilt from scratch. fail_back saves lost transactions to an in-process moto S3.
Everything the script started is stopped and deleted at the end, also on failure, Ctrl-C and SIGTERM. On
2 cores a run with the defaults takes about a minute.

Run:  .venv/bin/python bench/failover.py [--repeat 3] [--load-threads 4] [--batch-rows 500] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pymysql

from common import (
    measurement_meta,
    BenchError,
    add_sandbox_arguments,
    check_tools,
    format_table,
    new_parser,
    run_cleaning_up,
    say,
)

from drdrill.config import FailoverDrill, Objectives, Retention, Storage, Target
from drdrill.drills.failover import canary
from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.failover.path import CANARY_INTERVAL, Connections, Results, Run, stop_canary
from drdrill.drills.failover.runner import fail_over
from drdrill.drills.failover.self_managed import SelfManagedPath
from drdrill.drills.failover.steps import PREFLIGHT
from drdrill.endpoints import MySQLEndpoint, one_row
from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed
from drdrill.servers.gtid import transactions_behind
from drdrill.servers.topology import state_of, wait_caught_up
from drdrill.servers.mariadb import InstanceSpec, LocalMariaDB
from drdrill.servers.replication import replication_status, start_gtid_replica
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.s3 import S3ObjectStore

# Below the ephemeral range (32768+); bench/restore.py uses 32170, bench/pitr.py 32270.
DEFAULT_PORT_BASE = 32370
DEFAULT_WORK_DIR = Path("/tmp/drdrill-bench-failover")
TOOLS = ("mariadb-install-db", "mariadbd", "mariadb", "mariadb-binlog")
DATABASE = "drill"
LOAD_TABLE = f"{DATABASE}.bench_load"
BUCKET = "drdrill-bench"
LOOSE = timedelta(days=1)  # objectives and lag limit no run reaches: the numbers are measured, never judged
LOGINS = {
    "drill": ["SELECT, INSERT, UPDATE, DELETE, CREATE, RELOAD, PROCESS, SHUTDOWN, REPLICATION SLAVE, "
              "REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, BINLOG MONITOR, BINLOG REPLAY, BINLOG ADMIN, SLAVE MONITOR "
              "ON *.*"],
    "canary": [f"SELECT, INSERT ON {DATABASE}.*"],
    "app": [f"SELECT, INSERT, UPDATE, DELETE ON {DATABASE}.*"],
}
NOTE = "x" * 100  # each load row's payload
HEALTHY_TIMEOUT = 120.0
THREAD_STOP_SECONDS = 30.0
SCENARIOS = ("idle", "load")
KINDS = ("drill", "bare")
METRICS = [  # (title, run key, format)
    ("fault->writable s", "writable_s", "{:.3f}"),
    ("detection s", "detection_s", "{:.3f}"),
    ("promotion s", "promotion_s", "{:.3f}"),
    ("apply wait s (in promotion)", "apply_s", "{:.3f}"),
    ("replica backlog at fault, trx", "backlog", "{:g}"),
    ("load trx committed", "load_committed", "{:g}"),
    ("lost trx (GTID)", "lost_transactions", "{:g}"),
    ("acked load trx lost", "acked_lost", "{:g}"),
    ("canary rows lost", "canary_rows_lost", "{:g}"),
    ("restore_topology s", "restore_s", "{:.2f}"),
]


@dataclass(frozen=True)
class Pair:
    """The drill's and the application's logins on the two servers, the drill target, a store, run files."""

    servers: FailoverServers
    app: MySQLEndpoint
    target: Target
    store: ObjectStore
    work_dir: Path


# -- the pair ----------------------------------------------------------------------------------------


def bench_target() -> Target:
    """A target that allows failover drills on the pair, with objectives and lag limit no run reaches."""
    return Target(
        name="bench_failover", source_conn_id="bench_primary", replica_conn_id="bench_replica",
        databases=(DATABASE,), storage=Storage(conn_id="bench_s3", bucket=BUCKET, prefix="bench"),
        objectives=Objectives(rto=LOOSE, rpo=LOOSE), retention=Retention(keep_backups=1),
        allow_failover_drill=True,
        failover_drill=FailoverDrill(canary_conn_id="bench_canary", max_replica_lag=LOOSE),
    )


def set_up(primary: LocalMariaDB, replica: LocalMariaDB, store: ObjectStore, work_dir: Path) -> Pair:
    """Fresh servers (an interrupted run's leftovers wiped), the logins on both, GTID replication, the tables."""
    passwords = {user: secrets.token_urlsafe(18) for user in LOGINS}
    for server in (primary, replica):
        server.destroy()
        server.initialize()
        server.start()
        for user, grants in LOGINS.items():
            server.ensure_user(user, passwords[user], grants, binlog=False)
    start_gtid_replica(replica, primary.endpoint("drill", passwords["drill"]), gtid_slave_pos="")
    with contextlib.closing(primary.root_connect()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {DATABASE}")
        cur.execute(canary.create_table_sql(canary.canary_table(DATABASE)))
        cur.execute(
            f"CREATE TABLE {LOAD_TABLE} (id BIGINT AUTO_INCREMENT PRIMARY KEY, run_id VARCHAR(40) NOT NULL, "
            "thread SMALLINT NOT NULL, batch INT NOT NULL, written_at DATETIME(6) NOT NULL, "
            "note VARCHAR(100) NOT NULL, KEY run_batch (run_id, thread, batch)) ENGINE=InnoDB"
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    servers = FailoverServers(
        primary=primary.endpoint("drill", passwords["drill"]),
        replica=replica.endpoint("drill", passwords["drill"]),
        canary_primary=primary.endpoint("canary", passwords["canary"], DATABASE),
        canary_replica=replica.endpoint("canary", passwords["canary"], DATABASE),
    )
    app = primary.endpoint("app", passwords["app"], DATABASE)
    return Pair(servers, app, bench_target(), store, work_dir)


@contextlib.contextmanager
def object_store() -> Iterator[ObjectStore]:
    """A bucket in moto's in-process S3 mock, where restore_topology saves lost transactions."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        store = S3ObjectStore(client, BUCKET)
        store.ensure_bucket()
        yield store


def wait_healthy(servers: FailoverServers) -> None:
    """Wait until both replication threads run (START SLAVE returns before they connect) and it caught up."""
    deadline = time.monotonic() + HEALTHY_TIMEOUT
    while not (state := state_of(servers.replica)).replication_running:
        if time.monotonic() > deadline:
            raise BenchError(f"replication did not resume: IO {state.io_running}, SQL {state.sql_running}, "
                             f"{state.last_io_error or state.last_sql_error}")
        time.sleep(0.1)
    wait_caught_up(servers.replica, servers.primary, HEALTHY_TIMEOUT)


def replica_backlog(servers: FailoverServers) -> int:
    """GTIDs in the primary's binlog that the replica has not applied yet."""
    return transactions_behind(state_of(servers.primary).gtid_binlog_pos, state_of(servers.replica).gtid_slave_pos)


def drill_path(pair: Pair, key: str) -> SelfManagedPath:
    """The drill's self-managed path for one failover of the pair, run id ``key``."""
    connections = Connections(lambda: pair.servers, redirect_source=no_connection, store=lambda: pair.store,
                              rds=lambda: None)
    return SelfManagedPath(Run(pair.target, connections, pair.work_dir, key))


def no_connection(host: str, port: int) -> dict[str, Any]:
    """The bench has no Airflow connection to redirect: it says nothing changed."""
    return {"was": {"host": host, "port": port}, "changed": False}


def put_back(path: SelfManagedPath, results: Results) -> dict[str, Any]:
    """The drill's fail_back step (timed), then verify_consistency; their findings are returned, not raised.

    The caller rebuilds a pair they could not restore, so the next failover still starts from a healthy one.
    """
    began = time.monotonic()
    restore_s = None
    try:
        path.fail_back(results)
        restore_s = round(time.monotonic() - began, 3)
        path.verify_consistency(results)
    except DrillFailed as exc:
        return {"restore_s": restore_s, "restore_failed": " | ".join(f.sentence() for f in exc.findings)}
    return {"restore_s": restore_s, "restore_failed": None}


# -- the write load ----------------------------------------------------------------------------------


class WriteLoad:
    """Application connections committing multi-row INSERTs into the load table back to back.

    Each connection stops at its first error, which the fault causes: it never writes to the restarted
    old primary. With no threads (the idle scenario) it does nothing.
    """

    def __init__(self, endpoint: MySQLEndpoint, run_id: str, threads: int, batch_rows: int) -> None:
        self.endpoint = endpoint
        self.run_id = run_id
        self.batch_rows = batch_rows
        self.acked = [0] * threads  # batches 1..n whose COMMIT returned, per thread
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.workers = [threading.Thread(target=self._write, args=(number,), name=f"load-{number}", daemon=True)
                        for number in range(threads)]
        self.began = 0.0

    def __enter__(self) -> WriteLoad:
        self.began = time.monotonic()
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join(THREAD_STOP_SECONDS)

    def _write(self, number: int) -> None:
        rows = ", ".join([f"(%(run)s, {number}, %(batch)s, UTC_TIMESTAMP(6), %(note)s)"] * self.batch_rows)
        statement = f"INSERT INTO {LOAD_TABLE} (run_id, thread, batch, written_at, note) VALUES {rows}"
        conn = None
        try:
            conn = self.endpoint.connect(autocommit=False)
            cursor = conn.cursor()
            while not self.stop.is_set():
                cursor.execute(statement, {"run": self.run_id, "batch": self.acked[number] + 1, "note": NOTE})
                conn.commit()
                self.acked[number] += 1
        except pymysql.MySQLError as exc:
            self.errors.append(f"load-{number}: {exc}")
        finally:
            if conn is not None:
                with contextlib.suppress(pymysql.MySQLError):
                    conn.close()

    def wait_for_fault(self, seconds: float) -> None:
        """Sleep until the load has run ``seconds`` (at once without load); BenchError if it failed already."""
        if self.workers:
            time.sleep(max(0.0, self.began + seconds - time.monotonic()))
        if self.errors:
            raise BenchError(f"the write load failed before the fault: {self.errors[0]}")

    def committed(self) -> int | None:
        """Load transactions whose COMMIT returned; None without load."""
        return sum(self.acked) if self.workers else None

    def acked_lost(self, new_primary: MySQLEndpoint) -> int | None:
        """Load transactions whose COMMIT returned but that ``new_primary`` lacks; None without load.

        The replica applies a prefix of the binlog, so each thread's batches there are 1..MAX(batch).
        """
        if not self.workers:
            return None
        present = dict(new_primary.fetch_all(
            f"SELECT thread, MAX(batch) FROM {LOAD_TABLE} WHERE run_id = %s GROUP BY thread", (self.run_id,)))
        return sum(max(0, acked - int(present.get(number, 0))) for number, acked in enumerate(self.acked))


# -- one failover, drill and bare --------------------------------------------------------------------


def run_drill(pair: Pair, load: WriteLoad, key: str, load_seconds: float) -> dict[str, Any]:
    """The drill's step list in the DAG's order, up to measure; then fail_back timed on its own."""
    path = drill_path(pair, key)
    backlog: list[int] = []

    def attempt(step: str, call_step: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        if step == "inject_fault":  # the fault comes after the load ran its seconds
            load.wait_for_fault(load_seconds)
            backlog.append(replica_backlog(pair.servers))
        return None if step == "fail_back" else call_step()

    try:
        with load:  # each load connection stops at its first error, the fault
            results: dict[str, Any] = {PREFLIGHT: path.preflight()}
            fail_over(path, results, attempt)
        measured, promoted = results["measure"], results["promote"]
        acked_lost = load.acked_lost(pair.servers.replica)
        restored = put_back(path, results)
    finally:
        stop_canary(path.run.directory)
    return {
        "writable_s": measured["rto_seconds"],
        "detection_s": measured["detection_seconds"],
        "promotion_s": measured["promotion_seconds"],
        "apply_s": promoted["apply_seconds"],
        "backlog": backlog[0],
        "load_committed": load.committed(),
        "lost_transactions": measured["lost_transactions"],
        "acked_lost": acked_lost,
        "canary_rows_lost": measured["canary_rows_lost"],
        **restored,
        "rpo_s": measured["rpo_seconds"],
        "client_write_gap_s": measured["client_write_gap_seconds"],
    }


def promote_bare(replica: MySQLEndpoint, pid: int, probe_table: str, run_id: str, timeout: float) -> dict[str, Any]:
    """SIGKILL ``pid``, then the promotion statements on ``replica``, timed from the kill."""
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    with contextlib.closing(replica.connect(connect_timeout=5)) as conn, conn.cursor() as cur:
        received = str(replication_status(conn).get("Gtid_IO_Pos") or "")
        cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (received, timeout))
        if one_row(cur)[0] != 0:
            raise BenchError(f"the replica did not apply the GTIDs it received ({received!r}) within {timeout:.0f} s")
        applied = time.monotonic()
        for statement in ("STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF"):
            cur.execute(statement)
        cur.execute(f"INSERT INTO {canary.quoted(probe_table)} (run_id, seq, written_at, server_id) "
                    "VALUES (%s, 0, UTC_TIMESTAMP(6), @@server_id)", (run_id,))
        writable = time.monotonic()
        cur.execute("SELECT @@gtid_slave_pos")
        applied_pos = str(one_row(cur)[0] or "")
    return {"apply_s": round(applied - killed, 3), "writable_s": round(writable - killed, 3), "applied": applied_pos}


def run_bare(pair: Pair, load: WriteLoad, key: str, load_seconds: float) -> dict[str, Any]:
    """SIGKILL and the bare promotion statements; then the old primary restarted and the pair put back, untimed."""
    servers, target, path = pair.servers, pair.target, drill_path(pair, key)
    plan = path.preflight()  # the pid to kill, and how to restart it
    fault = path.fault(plan)
    with load:
        load.wait_for_fault(load_seconds)
        backlog = replica_backlog(servers)
        promoted = promote_bare(servers.replica, plan["process"]["pid"], plan["canary_table"], key,
                                target.failover_drill.promotion_timeout.total_seconds())
    fault.undo()
    lost = transactions_behind(state_of(servers.primary).gtid_binlog_pos, promoted["applied"])
    acked_lost = load.acked_lost(servers.replica)
    restored = put_back(path, {PREFLIGHT: plan})
    return {
        "writable_s": promoted["writable_s"],
        "detection_s": None,
        "promotion_s": promoted["writable_s"],
        "apply_s": promoted["apply_s"],
        "backlog": backlog,
        "load_committed": load.committed(),
        "lost_transactions": lost,
        "acked_lost": acked_lost,
        "canary_rows_lost": None,
        **restored,
    }


RUNNERS: dict[str, Callable[[Pair, WriteLoad, str, float], dict[str, Any]]] = {"drill": run_drill, "bare": run_bare}


def run_one(pair: Pair, scenario: str, repetition: int, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """One failover of the healthy pair, ``kind`` drill or bare, under the scenario's load.

    A library or SQL error fails this failover only: it is recorded (and has no numbers).
    """
    key = f"{scenario}-{repetition}-{kind}"
    wait_healthy(pair.servers)
    load = WriteLoad(pair.app, key, args.load_threads if scenario == "load" else 0, args.batch_rows)
    run: dict[str, Any] = {"key": key, "scenario": scenario, "repetition": repetition, "kind": kind,
                           "failed": None, "restore_failed": None}
    try:
        run.update(RUNNERS[kind](pair, load, key, args.load_seconds))
    except (BenchError, DrdrillError, pymysql.MySQLError) as exc:  # reported, the pair rebuilt; other runs kept
        say(f"  {key} failed: {exc}")
        return {**run, "failed": str(exc)}
    say(f"  {key}: writable after {run['writable_s']:.3f} s, backlog {run['backlog']}, "
        f"{run['lost_transactions']} transaction(s) lost")
    if run["restore_failed"]:
        say(f"    not put back: {run['restore_failed'][:300]}")
    return run


def bench(root: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Start the pair, run every scenario's repetitions (drill and bare alternating first), stop everything."""
    primary = LocalMariaDB(InstanceSpec("primary", root / "primary", args.port_base + 1, 1,
                                        buffer_pool=args.buffer_pool))
    replica = LocalMariaDB(InstanceSpec("replica", root / "replica", args.port_base + 2, 2,
                                        buffer_pool=args.buffer_pool, read_only=True))
    work_dir = root / "runs"
    try:
        with object_store() as store:
            say(f"primary and replica in {root} (ports {args.port_base + 1}-{args.port_base + 2})")
            pair = set_up(primary, replica, store, work_dir)
            runs = []
            for scenario in SCENARIOS:
                for repetition in range(1, args.repeat + 1):
                    for kind in KINDS if repetition % 2 else reversed(KINDS):
                        runs.append(run_one(pair, scenario, repetition, kind, args))
                        if runs[-1]["failed"] or runs[-1]["restore_failed"]:
                            say("    rebuilding the pair")
                            pair = set_up(primary, replica, store, work_dir)
            return runs
    finally:
        with contextlib.ExitStack() as stopping:  # each server is stopped even if stopping the other fails
            for server in (primary, replica):
                stopping.callback(server.destroy)
        shutil.rmtree(work_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            root.rmdir()  # only when empty: --work-dir may hold other files


# -- report ------------------------------------------------------------------------------------------


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict[str, float | None]]]]:
    """Median and max of every metric, per scenario and kind (None when not measured)."""
    summary: dict[str, dict[str, dict[str, dict[str, float | None]]]] = {}
    for scenario in SCENARIOS:
        for kind in KINDS:
            picked = [run for run in runs if run["scenario"] == scenario and run["kind"] == kind]
            summary.setdefault(scenario, {})[kind] = {
                key: spread([run[key] for run in picked if run.get(key) is not None]) for _, key, _ in METRICS
            }
    return summary


def spread(values: list[float]) -> dict[str, float | None]:
    """Median and max of ``values``; None for both when there are none."""
    if not values:
        return {"median": None, "max": None}
    return {"median": statistics.median(values), "max": max(values)}


def cell(value: float | None, fmt: str) -> str:
    """``value`` formatted, '-' when not measured."""
    return "-" if value is None else fmt.format(value)


COLUMNS = [
    ("scenario", "scenario", "{}"),
    ("metric", "metric", "{}"),
    ("drill median", "drill_median", "{}"),
    ("drill max", "drill_max", "{}"),
    ("bare median", "bare_median", "{}"),
    ("bare max", "bare_max", "{}"),
]


def table_rows(summary: dict[str, Any]) -> list[dict[str, str]]:
    """One row per scenario and metric: the drill's and the bare path's median and max side by side."""
    rows = []
    for scenario in SCENARIOS:
        for index, (title, key, fmt) in enumerate(METRICS):
            row = {"scenario": scenario if index == 0 else "", "metric": title}
            for kind in KINDS:
                for stat in ("median", "max"):
                    row[f"{kind}_{stat}"] = cell(summary[scenario][kind][key][stat], fmt)
            rows.append(row)
    return rows


def render_report(runs: list[dict[str, Any]], summary: dict[str, Any], meta: dict[str, Any],
                  args: argparse.Namespace) -> str:
    """Heading, the side-by-side table, what the metrics mean, and the failovers that had problems."""
    heading = (
        f"Failover benchmark on {meta['host']} ({meta['cpus']} CPUs), MariaDB {meta['mariadb']}: "
        f"{args.repeat} repetition(s) per scenario, drill and bare alternating first; load = "
        f"{args.load_threads} thread(s) x {args.batch_rows}-row INSERT transactions back to back, "
        f"fault after {args.load_seconds:g} s of load"
    )
    notes = (
        "fault->writable: drill = judge's rto_seconds (fault -> the promotion's write committed); bare = SIGKILL ->\n"
        "  INSERT committed. Bare has no detection: its promotion starts at the kill. apply wait: the\n"
        "  MASTER_GTID_WAIT part of the promotion (with connecting and reading the replica's position).\n"
        "backlog: GTIDs the replica had not applied just before the fault. lost trx: GTIDs in the old primary's\n"
        "  binlog after its restart that the new primary had not applied at promotion. acked load trx lost:\n"
        "  COMMIT returned to the application, missing on the new primary. canary rows lost: the drill's count.\n"
        "restore_topology: rejoin (lost transactions saved and flashed back) and switch back, after fault.undo\n"
        "  restarted the old primary; the same call after both paths."
    )
    return f"{heading}\n\n{format_table(table_rows(summary), COLUMNS)}\n\n{notes}\n\n{problems(runs)}"


def problems(runs: list[dict[str, Any]]) -> str:
    """The failovers a step failed in (not in the table), and those the pair was not put back after."""
    lines = [f"  {run['key']} failed: {run['failed'][:400]}" for run in runs if run["failed"]]
    lines += [f"  {run['key']} not put back: {run['restore_failed'][:400]}" for run in runs if run["restore_failed"]]
    if not lines:
        return f"All {len(runs)} failovers were measured, put back by restore_topology and verified."
    return "\n".join([f"Problems in {len(lines)} of {len(runs)} failovers (the pair was rebuilt after each; "
                      "failed ones are not in the table):", *lines])


def mariadb_version() -> str:
    """``mariadbd --version``, shortened to the version number."""
    done = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True, check=False)
    words = done.stdout.split()
    return words[words.index("Ver") + 1] if "Ver" in words else done.stdout.strip()


def run_facts(args: argparse.Namespace) -> dict[str, Any]:
    """The settings and versions the numbers were measured with (JSON ``meta``)."""
    return measurement_meta({
        "mariadb": mariadb_version(),
        "repeat": args.repeat,
        "load_threads": args.load_threads,
        "batch_rows": args.batch_rows,
        "load_seconds": args.load_seconds,
        "buffer_pool": args.buffer_pool,
        "canary_interval_s": CANARY_INTERVAL,
    })


# -- command line ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options; counts and seconds must be positive."""
    # conflict_handler: --work-dir below replaces the shared one, as it has a fixed default here
    parser = new_parser("bench/failover.py", __doc__, conflict_handler="resolve")
    parser.add_argument("--repeat", type=int, default=3, help="failovers per scenario and kind (default 3)")
    parser.add_argument("--load-threads", type=int, default=4, help="write load connections (default 4)")
    parser.add_argument("--batch-rows", type=int, default=500, help="rows per load transaction (default 500)")
    parser.add_argument("--load-seconds", type=float, default=5.0,
                        help="seconds of write load before the fault (default 5)")
    add_sandbox_arguments(parser, port_base=DEFAULT_PORT_BASE, buffer_pool="128M",
                          buffer_pool_help="innodb_buffer_pool_size of both servers (default 128M)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR,
                        help=f"where the servers and run files go (default {DEFAULT_WORK_DIR})")
    args = parser.parse_args(argv)
    if min(args.repeat, args.load_threads, args.batch_rows) < 1 or args.load_seconds <= 0:
        parser.error("--repeat, --load-threads, --batch-rows and --load-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; exits 130 when interrupted, 1 when the benchmark failed (cleaned up)."""
    args = parse_args(argv)
    check_tools([], TOOLS)
    runs = run_cleaning_up(lambda root: bench(root, args), work_dir=args.work_dir, temp_prefix="drdrill-fbench-",
                           failures=(BenchError, DrdrillError, pymysql.MySQLError))
    summary = summarize(runs)
    meta = run_facts(args)
    print(render_report(runs, summary, meta, args))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
