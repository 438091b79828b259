"""Benchmark a fleet: N targets (default 30), each its own schema on the sandbox's primary, drilled by the
two-worker Celery cluster (``drdrill stack``) with its pools.

The script builds its own sandbox (MariaDB primary and replica, moto S3, heartbeat) and stack (Postgres, Redis,
API server, scheduler, DAG processor, triggerer, two Celery workers) in a temp directory on their own ports,
creates the schemas ``fleet_01`` .. ``fleet_NN`` (the sandbox's shop schema with ``--rows`` rows each and a
heartbeat table a writer in this process beats every second), and writes a drills YAML with one target per
schema. Then:

1. DAG parse time of every DAG file with that config (``bench/dag_parse.py``'s probe, 5 parses each, against its
   1 s target; the replica is still applying the fleet's load then, so a quiet ``bench/dag_parse.py`` run with
   ``DRDRILL_CONFIG`` set to the fleet config is the cleaner number);
2. one target alone: a backup, then a restore drill (the baseline RTO);
3. the whole fleet: all N backups triggered at once, then all N restore drills at once.

It reports drills per hour for each wave, each restore drill's RTO (measured by the drill, from the run's
start: the time queued for a pool slot counts, as it would in a real disaster of many databases at once) against
the one drilled alone, the seconds of the drills' own steps (the stages' sum: what contention for the CPUs
costs), how long runs waited before their first task started, the peak memory of each worker (PSS of
its process tree: the Celery worker, its task processes, their tools and scratch servers) and of the machine
(lowest MemAvailable, swap written). Every drill must pass, else the numbers mean nothing and the script
exits 1. The stack's pools (``components.POOLS``: one backup dump and one scratch server per worker) bound the
heavy tasks; each worker runs 2 tasks at once.

Run:  .venv/bin/python bench/fleet.py [--targets 30] [--rows 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from common import format_table, in_background, measurement_meta, new_parser, run_cleaning_up, say
from dag_parse import measure as measure_parse

from drdrill.history import list_drills
from drdrill.sandbox.cluster.api import FINISHED, ClusterAPI
from drdrill.sandbox.cluster.stack import ClusterStack
from drdrill.sandbox.components import POOLS, WORKERS
from drdrill.sandbox.heartbeat import beat_once
from drdrill.sandbox.sample_data import create_shop_schema, load_shop_data
from drdrill.sandbox.stack import CONNECTION_IDS, S3_BUCKET, Sandbox

ROOT = Path(__file__).resolve().parents[1]
SANDBOX_PORT_BASE = 23400
STACK_PORT_BASE = 23410
PAGE = os.sysconf("SC_PAGE_SIZE")
RUN_TIMEOUT = 3600  # seconds one wave may take
POLL_SECONDS = 3.0


# -- the fleet -----------------------------------------------------------------------------------------------


def schema_names(count: int) -> list[str]:
    """``fleet_01`` .. ``fleet_<count>``."""
    return [f"fleet_{index:02d}" for index in range(1, count + 1)]


def create_fleet(sandbox: Sandbox, schemas: Sequence[str], rows: int) -> None:
    """Each schema: the shop's tables, view, routine, trigger and event, and ``rows`` rows of its own seed."""
    with contextlib.closing(sandbox.primary.root_connect()) as conn:
        for seed, schema in enumerate(schemas, start=1):
            create_shop_schema(conn, schema)
            load_shop_data(conn, rows=rows, seed=seed, database=schema)


@contextlib.contextmanager
def heartbeats(sandbox: Sandbox, schemas: Sequence[str]) -> Iterator[None]:
    """One row a second into each schema's heartbeat table while the fleet is drilled (RPO is measured by it)."""
    stop = threading.Event()

    def beat() -> None:
        with contextlib.closing(sandbox.primary.root_connect()) as conn:
            while not stop.wait(1.0):
                for schema in schemas:
                    beat_once(conn, sandbox.primary.spec.server_id, f"{schema}.heartbeat")

    with in_background(beat, "fleet-heartbeat", stop):
        yield


def fleet_config(schemas: Sequence[str], path: Path) -> Path:
    """A drills YAML with one target per schema, every schedule off (the bench triggers the runs)."""
    config = {
        "settings": {"history_url": f"sqlite:///{path.parent / 'history.sqlite'}", "work_dir": str(path.parent / "work")},
        "defaults": {
            "storage": {"conn_id": CONNECTION_IDS["s3"], "bucket": S3_BUCKET, "prefix": "fleet"},
            "objectives": {"rto": "30m", "rpo": "1h"},
            "retention": {"keep_backups": 2, "keep_days": None},
            "notify": {"slack_conn_id": None},
            "restore_drill": {"after_backup": False},
        },
        "targets": [{"name": schema, "description": f"fleet bench schema {schema}",
                     "source_conn_id": CONNECTION_IDS["primary"], "databases": [schema], "engine": "mariadb-dump",
                     "heartbeat": {"table": f"{schema}.heartbeat", "column": "beat_at"}} for schema in schemas],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# -- memory --------------------------------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _pss(pid: int) -> int:
    """Proportional set size of one process in bytes (0 when it is gone)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_pss(root: int, parents: dict[int, int]) -> int:
    """PSS of ``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss(pid)
        todo.extend(children.get(pid, ()))
    return total


def meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes."""
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, value = line.split(":", 1)
        values[key] = int(value.split()[0]) * 1024
    return values


def swapped_out_pages() -> int:
    """Pages written to swap since boot (/proc/vmstat pswpout)."""
    for line in Path("/proc/vmstat").read_text().splitlines():
        if line.startswith("pswpout "):
            return int(line.split()[1])
    return 0


class MemoryWatch:
    """Samples each worker's process tree and the machine's free memory every second until stopped."""

    def __init__(self, workers: Callable[[], dict[str, int | None]]) -> None:
        self.workers = workers
        self.peak: dict[str, int] = dict.fromkeys(WORKERS, 0)
        self.lowest_available = meminfo()["MemAvailable"]
        self.swap_pages_before = swapped_out_pages()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            parents = _parents()
            for name, pid in self.workers().items():
                if pid:
                    self.peak[name] = max(self.peak[name], tree_pss(pid, parents))
            self.lowest_available = min(self.lowest_available, meminfo()["MemAvailable"])

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> dict[str, Any]:
        """Peak PSS per worker, the lowest MemAvailable and the bytes swapped out meanwhile."""
        return {"worker_peak_bytes": self.peak, "lowest_mem_available_bytes": self.lowest_available,
                "mem_total_bytes": meminfo()["MemTotal"],
                "swapped_out_bytes": (swapped_out_pages() - self.swap_pages_before) * PAGE}


# -- waves of drills -----------------------------------------------------------------------------------------


def run_wave(cluster: ClusterAPI, history_url: str, drill: str, dag_prefix: str, targets: Sequence[str]) -> dict[str, Any]:
    """Trigger ``dag_prefix<target>`` for every target at once, wait for all; timings and the drills' records."""
    began = time.monotonic()
    runs = {target: cluster.trigger(f"{dag_prefix}{target}") for target in targets}
    states = wait_all(cluster, {f"{dag_prefix}{target}": run_id for target, run_id in runs.items()})
    states = {target: states[f"{dag_prefix}{target}"] for target in targets}
    wall = time.monotonic() - began
    records = {target: next(record for record in list_drills(history_url, target, drill, limit=5)
                            if record.run_id == runs[target]) for target in targets}
    waits = [first_task_wait(cluster, f"{dag_prefix}{target}", runs[target]) for target in targets]
    failed = {target: (states[target], records[target].verdict, [f["code"] for f in records[target].findings])
              for target in targets if states[target] != "success" or records[target].verdict != "passed"}
    return {"drill": drill, "runs": len(targets), "wall_s": round(wall, 1),
            "per_hour": round(len(targets) / wall * 3600, 1), "failed": failed,
            "rto_s": [records[target].rto_seconds for target in targets],
            "work_s": [round(sum(records[target].stage_seconds.values()), 1) for target in targets],
            "run_s": [round(seconds_between(records[target].started_at, records[target].finished_at), 1)
                      for target in targets],
            "first_task_wait_s": waits}


def wait_all(cluster: ClusterAPI, runs: dict[str, str]) -> dict[str, str]:
    """Until every run (dag_id → run id) has finished, one request every ``POLL_SECONDS`` (the API server shares
    the CPUs being measured); dag_id → final state."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        states = cluster.run_states(runs)
        if all(states.get(dag_id) in FINISHED for dag_id in runs):
            return states
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs not finished after {RUN_TIMEOUT} s: "
                               f"{ {dag_id: state for dag_id, state in states.items() if state not in FINISHED} }")
        time.sleep(POLL_SECONDS)


def first_task_wait(cluster: ClusterAPI, dag_id: str, run_id: str) -> float:
    """Seconds from the run's creation (its queued_at) to the start of its first task."""
    run = cluster.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
    starts = [ti["start_date"] for ti in cluster.task_instances(dag_id, run_id).values() if ti.get("start_date")]
    return round(seconds_between(run.get("queued_at") or run["run_after"], min(starts)), 1) if starts else float("nan")


def seconds_between(first: str, last: str) -> float:
    """Seconds between two ISO timestamps."""
    from datetime import datetime

    return (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()


def spread(values: Sequence[float | None]) -> dict[str, float]:
    """Median, 90th percentile and maximum of the measured values."""
    measured = sorted(value for value in values if value is not None)
    if not measured:
        return {"median": float("nan"), "p90": float("nan"), "max": float("nan")}
    p90 = measured[min(len(measured) - 1, round(0.9 * (len(measured) - 1)))]
    return {"median": round(statistics.median(measured), 1), "p90": round(p90, 1), "max": round(measured[-1], 1)}


# -- the run -------------------------------------------------------------------------------------------------


def parse_times(config: Path, root: Path) -> list[dict[str, Any]]:
    """``bench/dag_parse.py``'s measure of every DAG file with the fleet config (5 parses each)."""
    os.environ["DRDRILL_CONFIG"] = str(config)
    os.environ["AIRFLOW_HOME"] = str(root / "parse-airflow")
    rows = []
    for path in sorted((ROOT / "dags").glob("*.py")):
        say(f"  parsing {path.name}")
        rows.append(measure_parse(path, 5, 1.0))
    return rows


def bench(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Sandbox, fleet, parse times, stack; the lone drill, then the fleet's waves; everything stopped at the end."""
    schemas = schema_names(args.targets)
    sandbox = Sandbox(directory=root / "sandbox", port_base=args.port_base)
    stack: ClusterStack | None = None
    try:
        say(f"sandbox in {sandbox.directory}; {len(schemas)} schemas of ~{args.rows} rows")
        sandbox.up(rows=2000, airflow=False)
        create_fleet(sandbox, schemas, args.rows)
        config = fleet_config(schemas, root / "fleet.yaml")
        parsed = parse_times(config, root)
        directory = root / "stack"
        root.chmod(0o711)  # the postgres user reaches its data directory below root
        stack = ClusterStack(directory=directory, port_base=args.stack_port_base,
                             connections=sandbox.airflow_connections(), base_config=config)
        say(f"stack in {directory} (API {stack.api_url})")
        stack.up(timeout=300)
        cluster = ClusterAPI(stack)
        for schema in schemas:
            for prefix in ("dr_backup__", "dr_restore_drill__"):
                cluster.wait_for_dag(f"{prefix}{schema}", timeout=600)
        with heartbeats(sandbox, schemas), MemoryWatch(lambda: {name: stack.components[name].pid()
                                                                for name in WORKERS}) as memory:
            say(f"one target alone: {schemas[0]}")
            alone = [run_wave(cluster, stack.history_url, drill, prefix, schemas[:1])
                     for drill, prefix in (("backup", "dr_backup__"), ("restore", "dr_restore_drill__"))]
            say(f"the fleet: {len(schemas)} backups at once, then {len(schemas)} restore drills at once")
            fleet = [run_wave(cluster, stack.history_url, drill, prefix, schemas)
                     for drill, prefix in (("backup", "dr_backup__"), ("restore", "dr_restore_drill__"))]
        return {"meta": measurement_meta({"targets": len(schemas), "rows_per_schema": args.rows,
                                          "workers": len(WORKERS), "worker_concurrency": 2,
                                          "pools": {name: slots for name, slots in POOLS.values()}}),
                "parse": parsed, "alone": alone, "fleet": fleet, "memory": memory.report()}
    finally:
        if stack is not None:
            stack.down()
        sandbox.down()


def report(result: dict[str, Any]) -> str:
    """The parse table, the waves table, the RTO growth and the memory lines."""
    lone_rto = result["alone"][1]["rto_s"][0]
    waves = []
    for label, wave in [("alone", row) for row in result["alone"]] + [("fleet", row) for row in result["fleet"]]:
        rto, work, wait = spread(wave["rto_s"]), spread(wave["work_s"]), spread(wave["first_task_wait_s"])
        run = spread(wave["run_s"])
        waves.append({"wave": f"{label} {wave['drill']}", "runs": wave["runs"], "wall": wave["wall_s"],
                      "per_hour": wave["per_hour"], "rto": f"{rto['median']} / {rto['max']}",
                      "growth": f"{rto['median'] / lone_rto:.1f}x / {rto['max'] / lone_rto:.1f}x"
                      if wave["drill"] == "restore" and lone_rto else "-",
                      "work": f"{work['median']} / {work['max']}", "run": f"{run['median']} / {run['max']}",
                      "wait": f"{wait['median']} / {wait['max']}", "failed": len(wave["failed"])})
    memory = result["memory"]
    gib = 1024 ** 3
    lines = [
        f"fleet of {result['meta']['targets']} targets on {result['meta']['cpus']} CPU(s), "
        f"{memory['mem_total_bytes'] / gib:.1f} GiB, {result['meta']['workers']} Celery workers x "
        f"{result['meta']['worker_concurrency']} tasks, pools {result['meta']['pools']}",
        "",
        format_table(result["parse"], [("DAG file", "file", "{}"), ("DAGs", "dags", "{}"),
                                       ("median parse s", "median", "{:.3f}"), ("max s", "max", "{:.3f}"),
                                       ("within 1 s", "ok", "{}")]),
        "",
        format_table(waves, [("wave", "wave", "{}"), ("runs", "runs", "{}"), ("wall s", "wall", "{}"),
                             ("drills/h", "per_hour", "{}"), ("RTO s median / max", "rto", "{}"),
                             ("RTO vs alone median / max", "growth", "{}"),
                             ("steps s median / max", "work", "{}"), ("run s median / max", "run", "{}"),
                             ("first task after s median / max", "wait", "{}"), ("failed", "failed", "{}")]),
        "",
        "peak memory per worker (PSS of its process tree): " + ", ".join(
            f"{name} {peak / gib:.2f} GiB" for name, peak in memory["worker_peak_bytes"].items()),
        f"machine: lowest MemAvailable {memory['lowest_mem_available_bytes'] / gib:.1f} GiB of "
        f"{memory['mem_total_bytes'] / gib:.1f} GiB; swapped out meanwhile {memory['swapped_out_bytes'] / 2**20:.0f} MiB",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the report; 1 when a drill failed or a DAG file parsed past its target."""
    parser = new_parser("bench/fleet.py", __doc__)
    parser.add_argument("--targets", type=int, default=30, help="targets (schemas) in the fleet (default 30)")
    parser.add_argument("--rows", type=int, default=2000, help="rows of sample data per schema (default 2000)")
    parser.add_argument("--port-base", type=int, default=SANDBOX_PORT_BASE,
                        help=f"sandbox ports are base+1..base+4 (default {SANDBOX_PORT_BASE})")
    parser.add_argument("--stack-port-base", type=int, default=STACK_PORT_BASE,
                        help=f"stack ports are base+1..base+3 (default {STACK_PORT_BASE})")
    parser.add_argument("--work-dir", type=Path, help="where everything goes (default: a new temp dir)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.targets <= 99:
        parser.error("--targets must be 1..99")
    result = run_cleaning_up(lambda root: bench(root, args), work_dir=args.work_dir, temp_prefix="drdrill-fleet-",
                             failures=(TimeoutError,))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    failed = any(wave["failed"] for wave in result["alone"] + result["fleet"])
    slow = any(row["ok"] != "yes" for row in result["parse"])
    return 1 if failed or slow else 0


if __name__ == "__main__":
    sys.exit(main())
