"""Benchmark the backup drill's dump+upload step against the raw tool pipeline it wraps.

For each database size (--small-size, then --size) the script builds its own sandbox
(``Sandbox.up(airflow=False)``: MariaDB primary and replica, moto S3, Slack sink; no Airflow
connections) in a new temporary directory on its own ports (default 34071-34074), loads the sample
``shop`` database, and then for each engine measures:

  drill  engine.backup(BackupJob(...)) streaming tool -> zstd -> sha256 -> S3 multipart, run in a
         fresh child process so that process's peak RSS (VmHWM) can be read;
  raw    the same tool command (the engine's own argv) piped through zstd into a local file,
         then boto3 upload_file of that file to the same S3 (16 MiB multipart parts).

The report shows seconds, drill/raw next to the goal (<= 1.0: issue 16), compressed size and the drill
process's peak RSS at both sizes: streaming means that peak must not grow with the database. The drill's upload
sends --parts-in-flight parts at once (storage.parts_in_flight). The machine may be shared: each row says the
highest 1-minute load average seen just before its runs (the bench's own set-up and previous run included). It also times the two verifies of the
stored backup: by S3's checksums (GetObjectAttributes per object, nothing downloaded) and deep (every
object re-read and hashed), each failing the run if it finds the fresh backup damaged. The heartbeat writer and the
replica are stopped before timing (stable numbers, no replication work competing for the CPUs);
the bench servers get a bigger buffer pool than the sandbox's (--buffer-pool). Everything the
script started is stopped and deleted at the end, also on failure, Ctrl-C and SIGTERM.
Credentials reach the tools through option files only. Loading 1 GB takes 2-3 minutes.

Run:  .venv/bin/python bench/backup.py [--size 1GB] [--small-size 250MB] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


from common import (
    measurement_meta,
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
from drdrill.engines import get_engine
from drdrill.engines.base import BackupEngine, BackupJob
from drdrill.sandbox.stack import S3_BUCKET, Sandbox
from drdrill.storage.manifest import ObjectEntry
from drdrill.sizes import format_size, parse_size
from drdrill.storage.layout import TargetLayout, new_backup_id
from drdrill.storage.objectstore import PART_SIZE, PARTS_IN_FLIGHT
from drdrill.storage.s3 import S3ObjectStore
from drdrill.storage.pipeline import zstd_argv
from drdrill.storage.verify import attribute_findings, hash_object
from drdrill.toolenv import tool_environment

DEFAULT_PORT_BASE = 32070  # below the ephemeral range (32768+); bench/restore.py uses 32170
GOAL_RATIO = 1.0  # issue 16: dump+upload no slower than the raw sequential pipeline
CHILD_FLAG = "--drill-child"


# -- shared by parent and child ----------------------------------------------------------------------


def make_job(sandbox: Sandbox, work_dir: Path, kind: str, parallel: int, level: int,
             parts_in_flight: int = PARTS_IN_FLIGHT) -> BackupJob:
    """A BackupJob on the bench sandbox's primary and S3, like the drill's dump step builds one."""
    return BackupJob(
        source=sandbox.backup_endpoint(),
        databases=("shop",),
        store=S3ObjectStore(sandbox.s3_client(), S3_BUCKET, parts_in_flight=parts_in_flight),
        layout=TargetLayout(prefix="bench", target=kind),
        backup_id=new_backup_id(datetime.now(timezone.utc)),
        work_dir=work_dir,
        parallel=parallel,
        compression_level=level,
        datadir=str(sandbox.primary.datadir),
    )


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB: VmHWM from /proc (ru_maxrss as a fallback).

    Not ru_maxrss first: Linux carries the pre-exec high-water mark into a spawned child's
    ru_maxrss, so a child started by a big parent would report the parent's size. Only the Python
    process counts here; the tools are separate processes.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- drill measurement (child process) ---------------------------------------------------------------


def run_drill_child() -> int:
    """Child entry point: read the job spec from stdin, run engine.backup, print timings and RSS as JSON."""
    spec = json.load(sys.stdin)
    sandbox = Sandbox(directory=Path(spec["sandbox_dir"]), port_base=spec["port_base"])
    engine = get_engine(spec["engine"])
    job = make_job(sandbox, Path(spec["work_dir"]), "drill", spec["parallel"], spec["level"], spec["parts_in_flight"])
    rss_before, cpu_before = peak_rss_mib(), cpu_seconds()
    started = time.monotonic()
    try:
        result = engine.backup(job)
    finally:
        shutil.rmtree(job.work_dir / job.backup_id, ignore_errors=True)
    seconds = time.monotonic() - started
    verify_seconds = time_verifies(job, result.objects)
    json.dump(
        {
            "seconds": seconds,
            **verify_seconds,
            "cpu_s": cpu_seconds() - cpu_before,
            "compressed_bytes": sum(entry.size for entry in result.objects),
            "raw_bytes": sum(entry.raw_bytes or 0 for entry in result.objects),
            "rss_before_mib": rss_before,
            "peak_rss_mib": peak_rss_mib(),
            "prefix": job.layout.backup_root(job.backup_id),
        },
        sys.stdout,
    )
    print()
    return 0


def time_verifies(job: BackupJob, entries: tuple[ObjectEntry, ...]) -> dict[str, float]:
    """Seconds of the backup's verify by S3's checksums and of the deep one (every byte re-read and hashed)."""
    keys = [job.layout.object_key(job.backup_id, entry.name) for entry in entries]
    started = time.monotonic()
    if any(attribute_findings(job.store, key, entry) for key, entry in zip(keys, entries)):
        raise RuntimeError("the verify by S3's checksums found the fresh backup damaged")
    attributes_s = time.monotonic() - started
    started = time.monotonic()
    if any(hash_object(job.store, key) != (entry.size, entry.sha256) for key, entry in zip(keys, entries)):
        raise RuntimeError("the deep verify found the fresh backup damaged")
    return {"verify_attributes_s": attributes_s, "verify_deep_s": time.monotonic() - started}


def measure_drill(sandbox: Sandbox, engine: str, work_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run the drill's dump+upload step in a fresh Python process and return what it reported."""
    spec = {
        "sandbox_dir": str(sandbox.directory),
        "port_base": args.port_base,
        "engine": engine,
        "work_dir": str(work_dir),
        "parallel": args.parallel,
        "level": args.level,
        "parts_in_flight": args.parts_in_flight,
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), CHILD_FLAG],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"drill child for {engine} exited {done.returncode}: {done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])  # the report is the child's last line
    prefix = report.pop("prefix")
    S3ObjectStore(sandbox.s3_client(), S3_BUCKET).delete_prefix(prefix)  # keeps moto's memory small
    return report


# -- raw pipeline measurement ------------------------------------------------------------------------


def raw_commands(engine: BackupEngine, job: BackupJob, option_file: str) -> tuple[list[list[str]], list[str]]:
    """Commands that run before the stream (mydumper's dump to disk) and the one whose stdout is compressed."""
    if engine.name == "mydumper":
        out_dir = job.work_dir / job.backup_id / "mydumper"
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        return [engine.argv(job, option_file, str(out_dir))], ["tar", "-C", str(out_dir), "-cf", "-", "."]
    (job.work_dir / job.backup_id).mkdir(parents=True, exist_ok=True)
    return [], engine.argv(job, option_file)


def pipe_to_file(argv: list[str], job: BackupJob, target: Path, log: Path) -> None:
    """``argv | zstd -T<parallel> -<level> > target`` as two processes joined by an OS pipe."""
    with open(target, "wb") as out, open(log, "ab") as err:
        processes = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=tool_environment())]
        try:
            processes.append(
                subprocess.Popen(
                    zstd_argv(job.compression_level, job.parallel),
                    stdin=processes[0].stdout,
                    stdout=out,
                    stderr=err,
                    env=tool_environment(),
                )
            )
            processes[0].stdout.close()  # type: ignore[union-attr]  # zstd holds the read end now
            codes = [process.wait() for process in reversed(processes)]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    if any(codes):
        raise RuntimeError(
            f"raw pipeline {argv[0]} | zstd failed (zstd, tool exit codes {codes}): "
            f"{log.read_text(errors='replace')[-2000:]}"
        )


def measure_raw(
    sandbox: Sandbox, engine_name: str, work_dir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Time the raw sequential pipeline: dump to a local .zst file, then boto3 upload_file of it."""
    from boto3.s3.transfer import TransferConfig

    engine = get_engine(engine_name)
    job = make_job(sandbox, work_dir, "raw", args.parallel, args.level)
    target = work_dir / f"{job.backup_id}.zst"
    log = work_dir / f"{job.backup_id}.stderr.log"
    try:
        started = time.monotonic()
        with job.source.option_file() as option_file:
            before, streamed = raw_commands(engine, job, str(option_file))
            for argv in before:
                with open(log, "ab") as err:
                    subprocess.run(
                        argv, stdout=subprocess.DEVNULL, stderr=err, env=tool_environment(), check=True
                    )
            pipe_to_file(streamed, job, target, log)
        dumped = time.monotonic()
        key = job.layout.object_key(job.backup_id, target.name)
        job.store.client.upload_file(
            str(target),
            S3_BUCKET,
            key,
            Config=TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE),
        )
        uploaded = time.monotonic()
        size = target.stat().st_size
        job.store.delete_prefix(job.layout.backup_root(job.backup_id))
    finally:
        shutil.rmtree(work_dir / job.backup_id, ignore_errors=True)
        for leftover in (target, log):
            leftover.unlink(missing_ok=True)
    return {
        "dump_s": dumped - started,
        "upload_s": uploaded - dumped,
        "total_s": uploaded - started,
        "compressed_bytes": size,
    }


# -- sandbox per size --------------------------------------------------------------------------------


def bench_size(label: str, size: int, root: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """All engines at one database size, in a sandbox that is purged afterwards."""
    sandbox = with_server_memory(
        Sandbox(directory=root / "sandbox", port_base=args.port_base), args.buffer_pool
    )
    work_dir = root / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        facts = bring_up(sandbox, size)
        rows = []
        for engine in args.engines:
            drills, raws = [], []
            for attempt in range(args.repeat):
                say(f"  {engine}: drill run {attempt + 1}/{args.repeat}")
                drills.append({"load_before": os.getloadavg()[0], **measure_drill(sandbox, engine, work_dir, args)})
                say(f"  {engine}: raw run {attempt + 1}/{args.repeat}")
                raws.append({"load_before": os.getloadavg()[0], **measure_raw(sandbox, engine, work_dir, args)})
            rows.append(summarize(label, size, facts, engine, drills, raws))
        return rows
    finally:
        sandbox.down(purge=True)
        shutil.rmtree(work_dir, ignore_errors=True)


def summarize(
    label: str,
    size: int,
    facts: dict[str, Any],
    engine: str,
    drills: list[dict[str, Any]],
    raws: list[dict[str, Any]],
) -> dict[str, Any]:
    """One result row: medians of the timings over the repeats, maxima of the memory figures."""

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return round(statistics.median(run[key] for run in runs), 2)

    drill_s, raw_s = median(drills, "seconds"), median(raws, "total_s")
    return {
        "size_label": label,
        "requested_bytes": size,
        **facts,
        "engine": engine,
        "drill_s": drill_s,
        "drill_cpu_s": median(drills, "cpu_s"),
        "raw_dump_s": median(raws, "dump_s"),
        "raw_upload_s": median(raws, "upload_s"),
        "raw_total_s": raw_s,
        "ratio": round(drill_s / raw_s, 2) if raw_s else None,
        "goal": GOAL_RATIO,
        "load_before": round(max(run["load_before"] for run in drills + raws), 2),
        "verify_attributes_s": round(statistics.median(run["verify_attributes_s"] for run in drills), 3),
        "verify_deep_s": median(drills, "verify_deep_s"),
        "compressed_bytes": drills[-1]["compressed_bytes"],
        "raw_compressed_bytes": raws[-1]["compressed_bytes"],
        "tool_output_bytes": drills[-1]["raw_bytes"],
        "drill_rss_before_mib": round(max(run["rss_before_mib"] for run in drills), 1),
        "drill_peak_rss_mib": round(max(run["peak_rss_mib"] for run in drills), 1),
        "drill_runs": [
            {key: round(run[key], 2) for key in ("seconds", "cpu_s", "peak_rss_mib")} for run in drills
        ],
    }


# -- report ------------------------------------------------------------------------------------------


COLUMNS = [
    ("size", "size_label", "{}"),
    ("engine", "engine", "{}"),
    ("drill s", "drill_s", "{:.1f}"),
    ("drill CPU s", "drill_cpu_s", "{:.1f}"),
    ("raw dump s", "raw_dump_s", "{:.1f}"),
    ("raw upload s", "raw_upload_s", "{:.1f}"),
    ("raw total s", "raw_total_s", "{:.1f}"),
    ("drill/raw", "ratio", "{:.2f}"),
    ("goal", "goal", "<= {:.1f}"),
    ("max load before runs", "load_before", "{:.1f}"),
    ("compressed", "compressed_bytes", None),
    ("verify by checksums s", "verify_attributes_s", "{:.3f}"),
    ("deep verify s", "verify_deep_s", "{:.1f}"),
    ("drill peak RSS MiB", "drill_peak_rss_mib", "{:.0f}"),
    ("RSS before backup", "drill_rss_before_mib", "{:.0f}"),
]


def render_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width text table of the result rows."""
    return format_table(rows, COLUMNS)


def render_memory_summary(rows: list[dict[str, Any]], labels: list[str]) -> str:
    """Per engine: drill peak RSS at both sizes next to how much the backup itself grew."""
    lines = ["Drill process peak RSS across sizes (flat = memory does not grow with the database):"]
    for engine in dict.fromkeys(row["engine"] for row in rows):
        by_size = {row["size_label"]: row for row in rows if row["engine"] == engine}
        if not all(label in by_size for label in labels):
            continue
        small, large = (by_size[label] for label in labels)
        lines.append(
            f"  {engine:<13} {small['drill_peak_rss_mib']:.0f} MiB -> {large['drill_peak_rss_mib']:.0f} MiB "
            f"({large['drill_peak_rss_mib'] - small['drill_peak_rss_mib']:+.0f} MiB) while the backup grew "
            f"{format_size(small['compressed_bytes'])} -> {format_size(large['compressed_bytes'])}"
        )
    return "\n".join(lines)


def render_report(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Heading, table and memory summary."""
    heading = (
        f"Backup benchmark on {platform.node()} ({os.cpu_count()} CPUs): parallel={args.parallel}, "
        f"{args.parts_in_flight} parts in flight, "
        f"zstd -{args.level}, buffer pool {args.buffer_pool}, heartbeat and replica stopped during timing, "
        f"median of {args.repeat} run(s)"
    )
    summary = render_memory_summary(rows, [label for label, _ in args.sizes])
    return f"{heading}\n{render_table(rows)}\n\n{summary}"


def run_facts(args: argparse.Namespace) -> dict[str, Any]:
    """The settings and tool versions the numbers were measured with (JSON ``meta``)."""
    return measurement_meta({
        "parallel": args.parallel,
        "level": args.level,
        "parts_in_flight": args.parts_in_flight,
        "repeat": args.repeat,
        "buffer_pool": args.buffer_pool,
        "heartbeat": "stopped",
        "replica": "stopped",
        "tool_versions": {name: get_engine(name).tool_version() for name in args.engines},
    })


# -- command line ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options, with engines resolved to canonical names and sizes parsed to bytes."""
    parser = new_parser("bench/backup.py", __doc__)
    parser.add_argument("--size", default="1GB", help="large database size, e.g. 1GB, 500MB (default 1GB)")
    parser.add_argument("--small-size", default="250MB", help="small database size (default 250MB)")
    add_engines_argument(parser)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is reported")
    parser.add_argument(
        "--parallel", type=int, default=2, help="tool and zstd threads (default 2, as BackupJob)"
    )
    parser.add_argument("--level", type=int, default=3, help="zstd level (default 3, as BackupJob)")
    parser.add_argument("--parts-in-flight", type=int, default=PARTS_IN_FLIGHT,
                        help=f"parts the drill's upload sends at once (default {PARTS_IN_FLIGHT}, as storage.parts_in_flight)")
    add_sandbox_arguments(parser, port_base=DEFAULT_PORT_BASE, buffer_pool="1G",
                          buffer_pool_help="innodb_buffer_pool_size of the bench servers (default 1G; "
                          "the sandbox's own is 64M)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        args.engines = engine_names(args.engines)
        args.sizes = [("small", parse_size(args.small_size)), ("large", parse_size(args.size))]
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    """Benchmark both sizes, print the report; exits 130 when interrupted (after cleaning up)."""
    args = parse_args(argv)
    check_tools(args.engines)

    def measure(root: Path) -> list[dict[str, Any]]:
        return [row for label, size in args.sizes for row in bench_size(label, size, root, args)]

    rows = run_cleaning_up(measure, work_dir=args.work_dir, temp_prefix="drdrill-bench-")
    print(render_report(rows, args))
    if args.json:
        args.json.write_text(json.dumps({"meta": run_facts(args), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_drill_child() if sys.argv[1:] == [CHILD_FLAG] else main())
