"""Benchmark PITR: the drill's binlog replay against the bare pipe, and the archive lag of scheduled archiving vs the streamer.

The script builds its own sandbox (the one bench/backup.py and bench/restore.py use: MariaDB primary, moto
S3, Slack sink; heartbeat writer and replica stopped after loading) in a new temporary directory on its own
ports (default 32271-32274) with about --size of sample data (12MB: ~100k rows), sets the primary's
max_binlog_size, takes one backup with the real backup drill (``run_backup_drill``), archives the binlogs
once, and then runs the same write load twice, once per archiving mode:

  scheduled  the archive step (``drills.archive.steps.archive``: FLUSH BINARY LOGS, then upload every closed
             file) started every --archive-every seconds, as a schedule would start it (a run that
             overruns delays the next one, never overlaps it);
  streamer   ``run_streamer`` in a thread (a supervised ``mariadb-binlog --stop-never`` copies the binlog
             as it is written; a file is archived once the server has moved on to the next one, that is
             when it rotates at max_binlog_size).

The write load is one connection of the application's DML-only user committing transactions of --batch new
orders, 2x--batch order items and an UPDATE of the previous batch's orders (whose trigger inserts as many
audit rows: 5x--batch row events a transaction), paced to --rows-per-second (0: as fast as the server takes
them), and one heartbeat row a second, for --load-seconds per mode. Each mode starts with the archive up to
date. Every --sample-every seconds ``drills.archive.monitor.archive_lag_seconds`` reads the lag: the seconds of writes
the archive does not hold yet (0 only when it holds the source's GTID position; otherwise now minus the
newest archived event, whose time has one-second resolution, so a reading can be up to 1 s high). For the
streamer the script also reads how far its local copy (the spool) trails the file the primary is writing.

Then the archive is completed (one last archive run after the streamer stopped) and the PITR target is the
first whole second after the last write; ``pitr.plan`` picks the backup and the binlog chain, which is
fetched and verified once. Each of --rounds rounds provisions two scratch servers and restores the backup
into both with the drill's own steps (``provision_scratch``, ``restore`` without catch-up, as the PITR drill
does), so both start identical, then replays (drill first in odd rounds, bare first in even ones):

  drill   ``pitr.replay`` into the first (``replay_binlogs``: mariadb-binlog -> a Python copy loop with a
          tap -> the mariadb client);
  bare    the same ``mariadb-binlog`` command (same files, start position, stop second, database filter,
          TZ=UTC) piped straight into ``mariadb`` through an OS pipe, into the second;
  decode  (once) that ``mariadb-binlog`` command alone, output counted and dropped: the producer's ceiling.

Throughput is MB/s (10^6 bytes) of decoded SQL, the mariadb-binlog output the client executes; MB/s of
binlog bytes replayed (the chain's file sizes from the backup's position on) is shown beside it; medians
over the rounds are reported. Every replay is checked: each table's CHECKSUM TABLE on the scratch server
equals the source's, except the heartbeat table, which must hold exactly the source's rows before the target.

Everything the script started is stopped and deleted at the end, also on failure, Ctrl-C and SIGTERM.
Credentials reach the tools through option files only. On 2 cores a run with the defaults takes about
4 minutes.

Run:  .venv/bin/python bench/pitr.py [--load-seconds 60] [--rows-per-second 15000] [--archive-every 10]
      [--max-binlog-size 16M] [--rounds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

# restore is the sibling benchmark.
from common import (
    measurement_meta,
    BenchError,
    add_sandbox_arguments,
    bring_up,
    check_tools,
    format_table,
    new_parser,
    run_cleaning_up,
    say,
)
from restore import (
    base_tables,
    base_target,
    checksum_tables,
    engine_target,
    ratio,
    ratio_cell,
    run_id,
    seconds_cell,
    stop_servers_below,
    take_backup,
)

from drdrill.findings import DrillFailed
from drdrill.config import Target
from drdrill.drills.archive import steps as archive_steps
from drdrill.drills.layouts import binlog_layout
from drdrill.drills.pitr import steps as pitr
from drdrill.drills.restore import steps as restore_steps
from drdrill.drills.archive.monitor import archive_lag_seconds
from drdrill.endpoints import MySQLEndpoint
from drdrill.engines import get_engine
from drdrill.sandbox.heartbeat import beat_once
from drdrill.sandbox.stack import S3_BUCKET, Sandbox
from drdrill.servers.scratch import SCRATCH_BUFFER_POOL, run_key
from drdrill.sizes import format_size, parse_size
from drdrill.storage.manifest import Manifest
from drdrill.storage.binlog.streamer import StreamerStatus, run_streamer
from drdrill.storage.s3 import S3ObjectStore
from drdrill.toolenv import tool_environment

# Below the ephemeral range (32768+); bench/backup.py uses 32070, bench/restore.py 32170.
DEFAULT_PORT_BASE = 32270
TOOLS = ("mariadb-install-db", "mariadbd", "mariadb", "mariadb-binlog")
ROWS_PER_BATCH_ROW = 5  # orders + 2 order items + the orders' update + the trigger's audit row
READ_SIZE = 1024 * 1024
STREAMER_START_SECONDS = 30.0
THREAD_STOP_SECONDS = 60.0


# -- the write load ----------------------------------------------------------------------------------


class WriteLoad:
    """One application connection committing order batches at a paced rate, plus one heartbeat a second."""

    def __init__(
        self, endpoint: MySQLEndpoint, *, batch: int, rows_per_second: int, server_id: int, seed: int
    ) -> None:
        self.endpoint = endpoint
        self.batch = batch
        self.rows_per_second = rows_per_second
        self.server_id = server_id
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.transactions = 0
        self.rows = 0
        self.beats = 0
        self.last_commit_at: datetime | None = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.previous_first_id: int | None = None

    def __enter__(self) -> WriteLoad:
        self.stop.clear()
        self.thread = threading.Thread(target=self._run, name="write-load", daemon=True)
        self.began = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(THREAD_STOP_SECONDS)
        self.seconds = time.monotonic() - self.began

    def _run(self) -> None:
        try:
            connection = self.endpoint.connect(autocommit=False)
        except BaseException as exc:
            self.error = exc
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT MIN(id), MAX(id) FROM shop.customers")
                customers = cursor.fetchone()
                cursor.execute("SELECT MIN(id), MAX(id) FROM shop.products")
                products = cursor.fetchone()
            connection.commit()
            interval = self.batch * ROWS_PER_BATCH_ROW / self.rows_per_second if self.rows_per_second else 0.0
            began = next_beat = time.monotonic()
            while not self.stop.is_set():
                if time.monotonic() >= next_beat:
                    beat_once(connection, self.server_id)
                    self.beats += 1
                    next_beat += 1.0
                self._commit_batch(connection, customers, products)
                if interval:
                    self.stop.wait(max(0.0, began + self.transactions * interval - time.monotonic()))
        except BaseException as exc:  # reported by the phase, which then fails the benchmark
            self.error = exc
        finally:
            connection.close()

    def _commit_batch(self, connection: Any, customers: Sequence[int], products: Sequence[int]) -> None:
        pick = self.random.randint
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO shop.orders (customer_id, status, currency, ordered_at) VALUES "
                + ", ".join(
                    f"({pick(*customers)}, 'new', 'EUR', UTC_TIMESTAMP(6))" for _ in range(self.batch)
                )
            )
            first_id = int(cursor.lastrowid)  # a multi-row insert gets consecutive ids
            cursor.execute(
                "INSERT INTO shop.order_items (order_id, product_id, quantity, unit_price_cents) VALUES "
                + ", ".join(
                    f"({first_id + i // 2}, {pick(*products)}, {pick(1, 5)}, {pick(199, 99_999)})"
                    for i in range(2 * self.batch)
                )
            )
            updated = 0
            if self.previous_first_id is not None:
                updated = cursor.execute(
                    "UPDATE shop.orders SET status = 'paid' WHERE id BETWEEN %s AND %s AND status = 'new'",
                    (self.previous_first_id, self.previous_first_id + self.batch - 1),
                )
        connection.commit()
        self.previous_first_id = first_id
        self.transactions += 1
        self.rows += 3 * self.batch + 2 * updated  # the trigger adds one audit row per updated order
        self.last_commit_at = datetime.now(timezone.utc)

    def facts(self, binlog_bytes: int) -> dict[str, Any]:
        """What the load did, with the binlog it produced."""
        if self.error is not None:
            raise BenchError(f"the write load failed: {self.error}")
        return {
            "seconds": round(self.seconds, 2),
            "transactions": self.transactions,
            "rows": self.rows,
            "rows_per_second": round(self.rows / self.seconds) if self.seconds else None,
            "heartbeats": self.beats,
            "binlog_bytes": binlog_bytes,
            "binlog_mb_per_second": round(binlog_bytes / 1e6 / self.seconds, 2) if self.seconds else None,
        }


def binlog_bytes_on(sandbox: Sandbox) -> int:
    """The total size of the primary's binlog files (none is purged during the run)."""
    with contextlib.closing(sandbox.primary.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW BINARY LOGS")
        return sum(int(row[1]) for row in cursor.fetchall())


# -- archiving modes ---------------------------------------------------------------------------------


class Bench:
    """What every phase needs: the sandbox, the drill target and its store, settings, the work directory."""

    def __init__(self, sandbox: Sandbox, target: Target, root: Path, args: argparse.Namespace) -> None:
        self.sandbox = sandbox
        self.target = target
        self.root = root
        self.args = args
        self.source = sandbox.backup_endpoint()
        self.store = S3ObjectStore(sandbox.s3_client(), S3_BUCKET)

    def archive_once(self, label: str) -> dict[str, Any]:
        """One run of the archive step (rotate, upload every closed file); a finding fails the bench."""
        began = time.monotonic()
        try:
            result = archive_steps.archive(
                self.target, self.source, self.store, work_dir=self.root / "archive-work"
            )
        except DrillFailed as exc:
            raise BenchError(
                f"the archive step ({label}) failed: "
                + "; ".join(finding.sentence() for finding in exc.findings)
            ) from exc
        if result["findings"]:
            raise BenchError(f"the archive step ({label}) reported findings: {result['findings']}")
        return {
            "seconds": round(time.monotonic() - began, 3),
            "uploaded": len(result["uploaded"]),
            "bytes": result["bytes"],
        }

    def write_load(self) -> WriteLoad:
        """A fresh write load with this run's settings."""
        return WriteLoad(
            self.sandbox.app_endpoint(),
            batch=self.args.batch,
            rows_per_second=self.args.rows_per_second,
            server_id=self.sandbox.primary.spec.server_id,
            seed=random.randrange(2**32),
        )

    def sample_lag(
        self, seconds: float, extra: Callable[[], dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """``archive_lag_seconds`` every --sample-every seconds for ``seconds``; each reading timed."""
        samples = []
        began = time.monotonic()
        while (started := time.monotonic()) < began + seconds:
            lag, why = archive_lag_seconds(self.source, self.store, self.target, datetime.now(timezone.utc))
            samples.append(
                {
                    "at_s": round(started - began, 2),
                    "lag_s": lag,
                    "state": why,
                    "read_s": round(time.monotonic() - started, 3),
                    **(extra() if extra else {}),
                }
            )
            time.sleep(max(0.0, started + self.args.sample_every - time.monotonic()))
        return samples


@contextlib.contextmanager
def scheduled_archiving(bench: Bench, every: float) -> Iterator[list[dict[str, Any]]]:
    """The archive step in a thread, started every ``every`` seconds (the first at once); yields its runs."""
    runs: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def run() -> None:
        next_start = time.monotonic()
        while not stop.wait(max(0.0, next_start - time.monotonic())):
            next_start += every
            try:
                runs.append(bench.archive_once(f"scheduled run {len(runs) + 1}"))
            except BaseException as exc:
                errors.append(exc)
                return

    thread = threading.Thread(target=run, name="scheduled-archive", daemon=True)
    thread.start()
    try:
        yield runs
    finally:
        stop.set()
        thread.join(THREAD_STOP_SECONDS)
    if errors:
        raise BenchError(f"scheduled archiving failed: {errors[0]}")


@contextlib.contextmanager
def streaming(bench: Bench, spool: Path) -> Iterator[StreamerStatus]:
    """``run_streamer`` in a thread until the block ends (then stopped and joined); yields its status."""
    stop = threading.Event()
    status = StreamerStatus()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_streamer(
                lambda: bench.source,
                bench.store,
                binlog_layout(bench.target),
                spool_dir=spool,
                stop=stop,
                poll_interval=bench.args.stream_poll,
                status=status,
            )
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="binlog-streamer", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STREAMER_START_SECONDS
        while status.streaming_file is None:
            if errors or not thread.is_alive() or time.monotonic() > deadline:
                raise BenchError(f"the streamer did not start streaming: {errors or status.last_error}")
            time.sleep(0.05)
        yield status
    finally:
        stop.set()  # ends the mariadb-binlog child too (it runs in its own session, out of Ctrl-C's reach)
        thread.join(THREAD_STOP_SECONDS)
    if thread.is_alive() or errors:
        raise BenchError(f"the streamer did not stop cleanly: {errors or 'still running'}")


def spool_behind(bench: Bench, spool: Path, status: StreamerStatus) -> dict[str, Any]:
    """How many bytes of the file the primary is writing the streamer's spool does not hold yet."""
    with (
        contextlib.closing(bench.sandbox.primary.root_connect()) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SHOW MASTER STATUS")
        file, position = cursor.fetchone()[:2]
    copy = spool / (status.server_key or "-") / str(file)
    try:
        held = copy.stat().st_size
    except FileNotFoundError:
        held = 0
    return {"spool_behind_bytes": max(0, int(position) - held)}


def measure_scheduled(bench: Bench) -> dict[str, Any]:
    """Lag under the write load with the archive step started every --archive-every seconds."""
    before = binlog_bytes_on(bench.sandbox)
    with scheduled_archiving(bench, bench.args.archive_every) as runs:
        with bench.write_load() as load:
            samples = bench.sample_lag(bench.args.load_seconds)
    return {
        "mode": "scheduled",
        "load": load.facts(binlog_bytes_on(bench.sandbox) - before),
        "samples": samples,
        "runs": runs,
        **lag_summary(samples),
    }


def measure_streamer(bench: Bench) -> tuple[dict[str, Any], datetime | None]:
    """Lag under the write load with the streamer running; also returns the load's last commit time."""
    spool = bench.root / "spool"
    before = binlog_bytes_on(bench.sandbox)
    with streaming(bench, spool) as status:
        with bench.write_load() as load:
            samples = bench.sample_lag(bench.args.load_seconds, lambda: spool_behind(bench, spool, status))
    behind = [sample["spool_behind_bytes"] for sample in samples]
    result = {
        "mode": "streamer",
        "load": load.facts(binlog_bytes_on(bench.sandbox) - before),
        "samples": samples,
        "status": status.to_dict(),
        **lag_summary(samples),
        "spool_behind_p50_bytes": round(statistics.median(behind)) if behind else None,
        "spool_behind_max_bytes": max(behind, default=None),
    }
    return result, load.last_commit_at


def lag_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """p50 and max of the lag readings, and how long a reading took."""
    lags = [sample["lag_s"] for sample in samples if sample["lag_s"] is not None]
    reads = [sample["read_s"] for sample in samples]
    return {
        "samples_taken": len(samples),
        "samples_without_lag": len(samples) - len(lags),
        "lag_p50_s": round(statistics.median(lags), 2) if lags else None,
        "lag_max_s": round(max(lags), 2) if lags else None,
        "read_p50_s": round(statistics.median(reads), 3) if reads else None,
    }


# -- replay ------------------------------------------------------------------------------------------


def replay_argv(planned: dict[str, Any], databases: Sequence[str], files: Sequence[Path]) -> list[str]:
    """The mariadb-binlog command the drill runs (``replay_binlogs``), spelled out for the bare pipe."""
    argv = [
        "mariadb-binlog",
        "--no-defaults",
        f"--start-position={planned['start_position']}",
        f"--stop-datetime={planned['stop_datetime']}",
    ]
    if len(databases) == 1:
        argv.append(f"--database={databases[0]}")
    return [*argv, *map(str, files)]


def producer_environment() -> dict[str, str]:
    """The drill decodes in UTC (--stop-datetime is read in the local time zone); so does the bare pipe."""
    return {**tool_environment(), "TZ": "UTC"}


def decode_only(argv: Sequence[str], log: Path) -> dict[str, Any]:
    """Run the decoder alone, counting and dropping its output: the decoded SQL size and its own speed."""
    began = time.monotonic()
    count = 0
    with open(log, "wb") as stderr:
        producer = subprocess.Popen(
            list(argv), stdout=subprocess.PIPE, stderr=stderr, env=producer_environment()
        )
        try:
            output = cast(io.BufferedReader, producer.stdout)
            while chunk := output.read1(READ_SIZE):
                count += len(chunk)
            producer.wait()
        finally:
            if producer.poll() is None:
                producer.kill()
                producer.wait()
    if producer.returncode != 0:
        raise BenchError(
            f"mariadb-binlog exited {producer.returncode}: {log.read_text(errors='replace')[-500:]}"
        )
    return {"seconds": round(time.monotonic() - began, 3), "decoded_bytes": count}


def bare_replay(argv: Sequence[str], endpoint: MySQLEndpoint, log: Path) -> dict[str, Any]:
    """``mariadb-binlog … | mariadb`` through an OS pipe; both must exit 0."""
    with endpoint.option_file(directory=log.parent) as option_file, open(log, "wb") as stderr:
        began = time.monotonic()
        producer = subprocess.Popen(
            list(argv), stdout=subprocess.PIPE, stderr=stderr, env=producer_environment()
        )
        try:
            client = subprocess.Popen(
                ["mariadb", f"--defaults-extra-file={option_file}", "--max-allowed-packet=256M"],
                stdin=producer.stdout,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=tool_environment(),
            )
        except BaseException:
            producer.kill()
            producer.wait()
            raise
        assert producer.stdout is not None
        producer.stdout.close()  # the client holds the pipe now
        try:
            client.wait()
            producer.wait()
        finally:
            for process in (producer, client):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        seconds = time.monotonic() - began
    if producer.returncode != 0 or client.returncode != 0:
        raise BenchError(
            f"the bare replay failed (mariadb-binlog {producer.returncode}, mariadb "
            f"{client.returncode}): {log.read_text(errors='replace')[-500:]}"
        )
    return {"seconds": round(seconds, 3)}


def replayed_binlog_bytes(planned: dict[str, Any], files: Sequence[Path]) -> int:
    """The binlog bytes the replay reads: every file of the chain, the first from the backup's position."""
    return sum(path.stat().st_size for path in files) - int(planned["start_position"])


def link_files(source: Path, destination: Path) -> None:
    """Hard-link fetched files into another run's directory (the same bytes, no second download)."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file():
            os.link(path, destination / path.name)


def measure_replay(bench: Bench, target_time: datetime) -> dict[str, Any]:
    """Plan the PITR and fetch its files once, then --rounds rounds of drill vs bare replay."""
    target, store = bench.target, bench.store
    planned = pitr.plan(target, store, target_time=target_time, now=datetime.now(timezone.utc), signing_key=None)
    manifest = restore_steps.read_manifest(store, target, planned["backup_id"], signing_key=None)
    work = bench.root / "pitr-work"
    fetch_key = run_key(run_id("pitr_fetch", target))
    fetched_dir = restore_steps.run_dir(work, fetch_key)
    try:
        fetched = {
            **restore_steps.fetch_and_verify(planned, target, store, work_dir=work, key=fetch_key, signing_key=None),
            **pitr.fetch_binlog_files(planned, target, store, work_dir=work, key=fetch_key),
        }
        files = [fetched_dir / "binlogs" / name for name in planned["files"]]
        argv = replay_argv(planned, manifest.databases, files)
        decoded = decode_only(argv, work / "decode.log")
        say(
            f"  replay: {len(files)} binlog files, {format_size(replayed_binlog_bytes(planned, files))} from the "
            f"backup's position, {format_size(decoded['decoded_bytes'])} of decoded SQL"
        )
        rounds = [
            replay_round(bench, planned, manifest, fetched_dir, argv, target_time, number)
            for number in range(bench.args.rounds)
        ]
        return summarize_replay(planned, files, fetched, decoded, rounds)
    finally:
        shutil.rmtree(fetched_dir, ignore_errors=True)


def replay_round(
    bench: Bench,
    planned: dict[str, Any],
    manifest: Manifest,
    fetched_dir: Path,
    argv: Sequence[str],
    target_time: datetime,
    number: int,
) -> dict[str, Any]:
    """Two scratch servers restored by the drill's steps; one replayed by the drill, one bare."""
    work = bench.root / "pitr-work"
    order = ("drill", "bare") if number % 2 == 0 else ("bare", "drill")
    keys = {side: run_key(run_id(f"pitr_{side}", bench.target)) for side in order}
    scratches: dict[str, dict[str, Any]] = {}
    result: dict[str, Any] = {"order": list(order), "restore_base_s": {}}
    try:
        for side, key in keys.items():
            link_files(fetched_dir / "files", restore_steps.run_dir(work, key) / "files")
            if side == "drill":  # pitr.replay reads the binlogs from its own run directory
                link_files(fetched_dir / "binlogs", restore_steps.run_dir(work, key) / "binlogs")
            scratches[side] = restore_steps.provision_scratch(
                planned,
                work_dir=work,
                key=key,
                source=bench.source,
                replica=None,
                scratch_endpoint=None,
                scratch_conn_id=None,
            )
            restored = restore_steps.restore(
                planned,
                scratches[side],
                manifest,
                endpoint=scratch_endpoint(scratches[side]),
                work_dir=work,
                key=key,
                parallel=bench.args.parallel,
                apply_catchup=False,
            )
            result["restore_base_s"][side] = restored["seconds"]
        for side in order:
            endpoint = scratch_endpoint(scratches[side])
            began = time.monotonic()
            if side == "drill":
                stats = pitr.replay(planned, manifest, endpoint=endpoint, work_dir=work, key=keys[side])
                result["drill_tap_bytes"] = stats["raw_bytes"]
                result["drill_own_s"] = stats["seconds"]
            else:
                bare_replay(argv, endpoint, work / f"bare-replay-{number}.log")
            result[side] = round(time.monotonic() - began, 3)
        say(
            f"    round {number + 1}: drill {result['drill']:.1f} s, bare {result['bare']:.1f} s ({order[0]} first)"
        )
        result["checked"] = check_replays(
            bench, {side: scratch_endpoint(info) for side, info in scratches.items()}, target_time
        )
        return result
    finally:
        for side, key in keys.items():
            restore_steps.teardown(scratches.get(side), work_dir=work, key=key, keep_scratch=False)


def scratch_endpoint(info: dict[str, Any]) -> MySQLEndpoint:
    """The admin endpoint of a local scratch server the drill's provision step made."""
    local = restore_steps.local_scratch(info)
    assert local is not None
    return local.endpoint()


def check_replays(bench: Bench, endpoints: dict[str, MySQLEndpoint], target_time: datetime) -> dict[str, Any]:
    """Each replay equals the source: CHECKSUM TABLE per table; heartbeats exactly those before the target."""
    source = bench.sandbox.primary.root_endpoint()
    tables = base_tables(source, ("shop",))
    heartbeat = "`shop`.`heartbeat`"
    expected = checksum_tables(source, [table for table in tables if table != heartbeat])
    stamp = target_time.strftime("%Y-%m-%d %H:%M:%S")
    before = source.fetch_all("SELECT COUNT(*) FROM shop.heartbeat WHERE beat_at < %s", (stamp,))[0][0]
    for side, endpoint in endpoints.items():
        got = checksum_tables(endpoint, [table for table in tables if table != heartbeat])
        if got != expected:
            wrong = sorted(name for name in expected if got.get(name) != expected[name])
            raise BenchError(f"the {side} replay differs from the source in {', '.join(wrong)}")
        total, after = endpoint.fetch_all(
            "SELECT COUNT(*), COALESCE(SUM(beat_at >= %s), 0) FROM shop.heartbeat", (stamp,)
        )[0]
        if int(total) != int(before) or int(after):
            raise BenchError(
                f"the {side} replay holds {total} heartbeats ({after} at or after the target "
                f"{target_time.isoformat()}); the source has {before} before it"
            )
    return {"tables_checked": len(tables), "heartbeats_before_target": int(before)}


def summarize_replay(
    planned: dict[str, Any],
    files: Sequence[Path],
    fetched: dict[str, Any],
    decoded: dict[str, Any],
    rounds: list[dict[str, Any]],
) -> dict[str, Any]:
    """Per path: median seconds over the rounds, MB/s of decoded SQL and binlog bytes, ratio to bare."""
    sql_bytes = decoded["decoded_bytes"]
    binlog_bytes = replayed_binlog_bytes(planned, files)
    bare_s = statistics.median(item["bare"] for item in rounds)

    def path(label: str, each: list[float]) -> dict[str, Any]:
        seconds = round(statistics.median(each), 3)
        return {
            "path": label,
            "seconds": seconds,
            "rounds_s": each,
            "sql_mb_per_second": round(sql_bytes / 1e6 / seconds, 1) if seconds else None,
            "binlog_mb_per_second": round(binlog_bytes / 1e6 / seconds, 1) if seconds else None,
            "time_vs_bare": ratio(seconds, bare_s),
        }

    return {
        "backup_id": planned["backup_id"],
        "target_time": planned["target_time"],
        "files": planned["files"],
        "binlog_bytes": binlog_bytes,
        "decoded_sql_bytes": sql_bytes,
        "fetch_s": fetched.get("seconds"),
        "paths": [
            path("decode only (mariadb-binlog, output dropped)", [decoded["seconds"]]),
            path("bare: mariadb-binlog | mariadb", [item["bare"] for item in rounds]),
            path("drill: pitr.replay (replay_binlogs)", [item["drill"] for item in rounds]),
        ],
        "rounds": rounds,
        "checked": rounds[-1]["checked"],
    }


# -- the run -----------------------------------------------------------------------------------------


def set_max_binlog_size(sandbox: Sandbox, size: int) -> int:
    """Set the primary's max_binlog_size (0: keep the server's); returns the value in force."""
    with contextlib.closing(sandbox.primary.root_connect()) as connection, connection.cursor() as cursor:
        if size:
            cursor.execute("SET GLOBAL max_binlog_size = %s", (size,))
        cursor.execute("SELECT @@max_binlog_size")
        return int(cursor.fetchone()[0])


def wait_past(moment: datetime) -> None:
    """Sleep until the wall clock is past ``moment``."""
    while (left := (moment - datetime.now(timezone.utc)).total_seconds()) >= 0:
        time.sleep(left + 0.05)


def bench(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Sandbox, backup, both archiving modes under load, then the replays; everything stopped at the end."""
    sandbox = Sandbox(directory=root / "sandbox", port_base=args.port_base, buffer_pool=args.buffer_pool)
    history_url = f"sqlite:///{root / 'history.sqlite'}"
    try:
        facts = bring_up(sandbox, args.size)
        facts["max_binlog_size"] = set_max_binlog_size(sandbox, args.max_binlog_size)
        with contextlib.closing(sandbox.primary.root_connect()) as connection:
            beat_once(connection, sandbox.primary.spec.server_id)
        target = engine_target(base_target(args), args.engine)
        say(f"  {args.engine}: backup drill")
        facts["backup"] = take_backup(sandbox, target, root, history_url)
        say(f"    {facts['backup']['backup_id']}: {format_size(facts['backup']['stored_bytes'])} stored")
        run = Bench(sandbox, target, root, args)
        facts["initial_archive"] = run.archive_once("initial")
        say(f"  scheduled archiving every {args.archive_every:g} s under load for {args.load_seconds:g} s")
        scheduled = measure_scheduled(run)
        say(
            f"    lag p50 {scheduled['lag_p50_s']} s, max {scheduled['lag_max_s']} s; "
            f"{format_size(scheduled['load']['binlog_bytes'])} of binlog"
        )
        facts["between_modes_archive"] = run.archive_once("between modes")
        say(
            f"  streamer under load for {args.load_seconds:g} s (max_binlog_size "
            f"{format_size(facts['max_binlog_size'])})"
        )
        streamer, last_commit = measure_streamer(run)
        say(
            f"    lag p50 {streamer['lag_p50_s']} s, max {streamer['lag_max_s']} s; "
            f"{format_size(streamer['load']['binlog_bytes'])} of binlog"
        )
        # The target: the first whole second after the last write; one heartbeat after it, so the archive
        # reaches past the target, then the archive is completed.
        target_time = pitr.whole_second(last_commit or datetime.now(timezone.utc)) + timedelta(seconds=1)
        wait_past(target_time)
        with contextlib.closing(sandbox.primary.root_connect()) as connection:
            beat_once(connection, sandbox.primary.spec.server_id)
        facts["final_archive"] = run.archive_once("final")
        say(f"  PITR to {target_time.isoformat()}: drill replay vs bare pipe")
        replay = measure_replay(run, target_time)
        return {"facts": facts, "lag": [scheduled, streamer], "replay": replay}
    finally:
        stop_servers_below(root)
        sandbox.down(purge=True)


# -- report ------------------------------------------------------------------------------------------


REPLAY_COLUMNS = [
    ("path", "path", "{}"),
    ("seconds", "seconds", "{}"),
    ("decoded SQL MB/s", "sql", "{}"),
    ("binlog MB/s", "binlog", "{}"),
    ("time vs bare", "ratio", "{}"),
    ("each round s", "each", "{}"),
]
LAG_COLUMNS = [
    ("mode", "mode", "{}"),
    ("load rows/s", "rows", "{}"),
    ("binlog MB/s", "binlog", "{}"),
    ("samples", "samples", "{}"),
    ("lag p50 s", "p50", "{}"),
    ("lag max s", "max", "{}"),
    ("archiving", "archiving", "{}"),
]


def mb_cell(value: float | None) -> str:
    """MB/s with one decimal, '-' when not measured."""
    return "-" if value is None else f"{value:.1f}"


def replay_rows(replay: dict[str, Any]) -> list[dict[str, str]]:
    """One table row per replay path."""
    return [
        {
            "path": item["path"],
            "seconds": seconds_cell(item["seconds"]),
            "sql": mb_cell(item["sql_mb_per_second"]),
            "binlog": mb_cell(item["binlog_mb_per_second"]),
            "ratio": ratio_cell(item["time_vs_bare"]),
            "each": " / ".join(f"{value:.2f}" for value in item["rounds_s"]),
        }
        for item in replay["paths"]
    ]


def lag_rows(modes: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, str]]:
    """One table row per archiving mode."""
    rows = []
    for mode in modes:
        if mode["mode"] == "scheduled":
            runs = mode["runs"]
            took = statistics.median(run["seconds"] for run in runs) if runs else 0.0
            archiving = (
                f"every {args.archive_every:g} s: {len(runs)} runs, median {took:.2f} s, "
                f"{sum(run['uploaded'] for run in runs)} files"
            )
        else:
            status = mode["status"]
            archiving = (
                f"{len(status['uploaded'])} files at rotation, {status['restarts']} restarts; spool "
                f"behind p50 {format_size(mode['spool_behind_p50_bytes'] or 0)}, max "
                f"{format_size(mode['spool_behind_max_bytes'] or 0)}"
            )
        rows.append(
            {
                "mode": mode["mode"],
                "rows": f"{mode['load']['rows_per_second']:,}",
                "binlog": f"{mode['load']['binlog_mb_per_second']:.2f}",
                "samples": str(mode["samples_taken"]),
                "p50": seconds_cell(mode["lag_p50_s"]),
                "max": seconds_cell(mode["lag_max_s"]),
                "archiving": archiving,
            }
        )
    return rows


def render_report(result: dict[str, Any], args: argparse.Namespace) -> str:
    """Heading, the replay table and the archive-lag table, with what the numbers mean."""
    facts, replay, modes = result["facts"], result["replay"], result["lag"]
    heading = (
        f"PITR benchmark on {platform.node()} ({os.cpu_count()} CPUs): {facts['rows']:,} base rows, "
        f"{args.engine} backup {format_size(facts['backup']['stored_bytes'])}; load {args.load_seconds:g} s per "
        f"mode, batch {args.batch}, "
        f"{'unpaced' if not args.rows_per_second else f'paced to {args.rows_per_second:,} rows/s'}; "
        f"max_binlog_size {format_size(facts['max_binlog_size'])}"
    )
    replay_head = (
        f"Replay to {replay['target_time']}: {len(replay['files'])} files, "
        f"{format_size(replay['binlog_bytes'])} of binlog -> {format_size(replay['decoded_sql_bytes'])} of "
        f"decoded SQL, into scratch servers restored from the backup ({SCRATCH_BUFFER_POOL} buffer pool, "
        f"no binlog); {len(replay['rounds'])} round(s), fresh servers each, drill first in odd rounds, bare "
        f"first in even ones; median shown; every replay checked against the source "
        f"({replay['checked']['tables_checked']} tables)"
    )
    rate = next(mode["load"]["binlog_mb_per_second"] for mode in modes if mode["mode"] == "streamer")
    rotation = facts["max_binlog_size"] / 1e6 / rate if rate else None
    notes = (
        "Lag = drills.archive.monitor.archive_lag_seconds, read every "
        f"{args.sample_every:g} s (a reading took {modes[0]['read_p50_s']} s / {modes[1]['read_p50_s']} s at "
        "p50); event times have 1 s resolution.\n"
        "The streamer archives a file when it is rotated: by size (max_binlog_size / write rate"
        + (f", ~{rotation:.0f} s here" if rotation else "")
        + ") or by its own rotation timer (every 30 s when transactions were written), whichever comes first; "
        "'spool behind' is how far its local copy trails the primary."
    )
    return (
        f"{heading}\n\n{replay_head}\n{format_table(replay_rows(replay), REPLAY_COLUMNS)}\n\n"
        f"Archive lag (predicted RPO) under the write load\n{format_table(lag_rows(modes, args), LAG_COLUMNS)}\n\n"
        f"{notes}"
    )


def run_facts(args: argparse.Namespace, facts: dict[str, Any]) -> dict[str, Any]:
    """The settings and versions the numbers were measured with (JSON ``meta``)."""
    version = subprocess.run(["mariadb-binlog", "--version"], capture_output=True, text=True, check=False)
    return measurement_meta({
        "requested_bytes": args.size,
        **facts,
        "engine": args.engine,
        "load_seconds": args.load_seconds,
        "batch": args.batch,
        "rows_per_second": args.rows_per_second,
        "archive_every": args.archive_every,
        "sample_every": args.sample_every,
        "rounds": args.rounds,
        "stream_poll": args.stream_poll,
        "buffer_pool": args.buffer_pool,
        "scratch_buffer_pool": SCRATCH_BUFFER_POOL,
        "mariadb_binlog": version.stdout.strip(),
    })


# -- command line ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options, with sizes parsed to bytes and the engine resolved to its canonical name."""
    parser = new_parser("bench/pitr.py", __doc__)
    parser.add_argument("--size", default="12MB", help="base data size (default 12MB, ~100k rows)")
    parser.add_argument(
        "--engine", default="mariadb-dump", help="backup engine of the base (default mariadb-dump)"
    )
    parser.add_argument(
        "--load-seconds", type=float, default=60.0, help="write load per archiving mode, seconds (default 60)"
    )
    parser.add_argument(
        "--rows-per-second",
        type=int,
        default=15_000,
        help="pace of the load in rows written (0: as fast as it goes; default 15000, "
        "about 1.3 MB/s of binlog)",
    )
    parser.add_argument("--batch", type=int, default=500, help="new orders per transaction (default 500)")
    parser.add_argument(
        "--archive-every",
        type=float,
        default=10.0,
        help="scheduled mode: seconds between archive runs (default 10)",
    )
    parser.add_argument(
        "--sample-every", type=float, default=0.5, help="seconds between lag readings (default 0.5)"
    )
    parser.add_argument(
        "--stream-poll",
        type=float,
        default=1.0,
        help="streamer's poll interval, seconds (default 1.0, the streamer's own)",
    )
    parser.add_argument(
        "--max-binlog-size",
        default="16M",
        help="the primary's max_binlog_size for the run (default 16M; 0 keeps the server's 1G)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="replay rounds, drill and bare each, order alternating (default 2)",
    )
    parser.add_argument(
        "--parallel", type=int, default=2, help="backup/restore tool and zstd threads (default 2)"
    )
    parser.add_argument("--level", type=int, default=3, help="zstd level of the backup (default 3)")
    add_sandbox_arguments(parser, port_base=DEFAULT_PORT_BASE, buffer_pool="256M",
                          buffer_pool_help="innodb_buffer_pool_size of the primary (default 256M)")
    args = parser.parse_args(argv)
    try:
        args.engine = get_engine(args.engine).name
        args.size = parse_size(args.size)
        args.max_binlog_size = parse_size(args.max_binlog_size)
    except ValueError as exc:
        parser.error(str(exc))
    if args.max_binlog_size and not 4096 <= args.max_binlog_size <= 2**30:
        parser.error("--max-binlog-size must be between 4096 bytes and 1G (MariaDB's limits), or 0")
    if (
        args.rounds < 1
        or args.load_seconds <= 0
        or args.batch <= 0
        or args.archive_every <= 0
        or args.sample_every <= 0
    ):
        parser.error("--rounds, --load-seconds, --batch, --archive-every and --sample-every must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; exits 130 when interrupted, 1 when a step failed (cleaned up)."""
    args = parse_args(argv)
    check_tools([args.engine], TOOLS)
    logging.getLogger("drdrill").setLevel(logging.WARNING)
    result = run_cleaning_up(lambda root: bench(root, args), work_dir=args.work_dir,
                             temp_prefix="drdrill-pbench-", failures=(BenchError,))
    print(render_report(result, args))
    if args.json:
        meta = run_facts(args, result["facts"])
        args.json.write_text(
            json.dumps(
                {"meta": meta, "replay": result["replay"], "lag": result["lag"]}, indent=2, default=str
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
