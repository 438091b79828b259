"""Benchmark the DR scorecard on a big history: the JSON the fleet page, a target page and a history page load, with
10,000 drill records (default) over 30 targets, against a 1 s bound for each answer.

The script writes the records with ``drdrill.history.record_drill`` into a new SQLite history (as the drills do;
mixed kinds and verdicts, RTO/RPO, stages, findings), then asks the scorecard's app (the same FastAPI app the
plugin mounts in Airflow's API server, here without Airflow's auth in front) for ``/api/fleet``,
``/api/targets/<t>`` and ``/api/targets/<t>/runs`` ``--repeat`` times each and reports the median and max
seconds and the answer's size. The page draws itself in the browser from these answers. It exits 1 when a
median is over ``--target`` seconds.

The other source the fleet page could read, the store itself: with ``--store-backups N`` (default 7, a week of
dailies) the script also starts a moto S3 server, writes N backups per target (manifest, a data object, a proof
record and a drill's evidence folder each) and times reading every target's catalog (``list_backups``, what
``drdrill backups list`` does) as one page load would. moto answers on this host in a few ms a request; real S3
takes tens, so that number is the lower bound of a page load read from the store. It is why the page reads the
history (``drdrill.scorecard.backups``); that row does not count to the exit code.

Run:  .venv/bin/python bench/scorecard.py [--records 10000] [--targets 30] [--repeat 5] [--store-backups 7]
                                          [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from common import format_table, measurement_meta, new_parser, run_cleaning_up, say

from drdrill.daemon import Daemon
from drdrill.drill_kinds import drill_names
from drdrill.findings import Finding
from drdrill.history import DrillRecord, record_drill
from drdrill.scorecard.app import create_app
from drdrill.ports import find_free_port, port_open
from drdrill.scorecard.queries import TargetInfo
from drdrill.storage.catalog import list_backups
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import BinlogPosition, Inventory, Manifest, ObjectEntry, TableFacts
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.proof import DrillOutcome, record_proof
from drdrill.storage.s3 import S3ObjectStore

VERDICTS = ("passed", "passed", "passed", "passed", "failed", "could_not_verify")
COLUMNS = [("request", "request", "{}"), ("median s", "median", "{:.3f}"), ("max s", "max", "{:.3f}"),
           ("answer", "bytes", None), ("within target", "ok", "{}")]


def write_history(url: str, records: int, targets: list[str], seed: int = 7) -> None:
    """``records`` drill records spread over ``targets`` and every drill kind, one every ten minutes back from now."""
    chance = random.Random(seed)
    kinds = list(drill_names())
    now = datetime.now(timezone.utc)
    for index in range(records):
        started = now - timedelta(minutes=10 * (records - index))
        verdict = chance.choice(VERDICTS)
        kind = kinds[index % len(kinds)]
        findings = [] if verdict == "passed" else [Finding(
            "RTO_EXCEEDED" if verdict == "failed" else "TARGET_UNAVAILABLE", "made up by bench/scorecard.py").to_dict()]
        record_drill(url, DrillRecord(
            run_id=f"manual__{started.isoformat()}", target=targets[index % len(targets)], drill=kind,
            verdict=verdict, started_at=started.isoformat(), finished_at=(started + timedelta(seconds=90)).isoformat(),
            backup_id=started.strftime("%Y%m%dT%H%M%SZ"), rto_seconds=chance.uniform(20, 400),
            rto_objective_seconds=1800, rpo_seconds=chance.uniform(1, 900), rpo_objective_seconds=900,
            stage_seconds={"fetch_and_verify": 3.0, "provision_scratch": 4.0, "restore": 20.0, "validate": 9.0},
            findings=findings, details={"bench": True}))


def measure(client: TestClient, path: str, repeat: int, target: float) -> dict[str, Any]:
    """Median and max seconds of ``repeat`` GETs of ``path`` (each must answer 200)."""
    seconds, size = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        answer = client.get(path)
        seconds.append(time.perf_counter() - began)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:500]}")
        size = len(answer.content)
    median = statistics.median(seconds)
    return {"request": path, "median": median, "max": max(seconds), "bytes": size, "seconds": seconds,
            "ok": "yes" if median <= target else "NO"}


def write_store(store: ObjectStore, targets: list[str], backups: int) -> list[TargetLayout]:
    """``backups`` daily backups per target, as the drills leave them: objects, manifest, proof, drill evidence."""
    point = BinlogPosition("mysql-bin.000002", 600, "0-1-6")
    now = datetime.now(timezone.utc)
    layouts = [TargetLayout("bench", name) for name in targets]
    for layout in layouts:
        for day in range(backups):
            started = now - timedelta(days=day)
            backup_id = started.strftime("%Y%m%dT%H%M%SZ") + "-000000"
            stored = store.put_bytes(layout.object_key(backup_id, "dump.sql.zst"), b"made up by bench/scorecard.py")
            manifest = Manifest(
                backup_id=backup_id, target=layout.target, engine="mariadb-dump", tool_version="bench",
                compression="zstd", server_version="10.11", source="bench@localhost:3306", databases=("shop",),
                started_at=started.isoformat(), finished_at=(started + timedelta(minutes=1)).isoformat(),
                consistent_point=point, facts_point=point,
                objects=(ObjectEntry("dump.sql.zst", "data", stored.size, stored.sha256),),
                tables=(TableFacts("shop", "t", 3, "123", ("id",), ("id",)),), inventory=Inventory(tables=("shop.t",)))
            store.put_bytes(layout.manifest_key(backup_id), manifest.to_json().encode())
            record_proof(store, layout, backup_id, DrillOutcome("passed", (), f"bench-{day}", f"key{day}",
                                                                 started.isoformat(), True))
            for name in ("evidence.json", "evidence.html", "validation.json", "data-docs/index.html"):
                store.put_bytes(layout.object_key(backup_id, f"drills/key{day}/{name}"), b"{}")
    return layouts


def measure_store(root: Path, targets: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Median and max seconds of reading every target's catalog from a moto S3 server, ``--repeat`` times."""
    import boto3

    port = find_free_port()
    daemon = Daemon("bench-scorecard-moto", root)
    url = f"http://127.0.0.1:{port}"
    daemon.start([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                 ready=lambda: port_open(port))
    try:
        client = boto3.client("s3", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing",
                              region_name="us-east-1")
        store = S3ObjectStore(client, "bench")
        store.ensure_bucket()
        say(f"writing {args.store_backups} backups for each of {len(targets)} targets into moto S3")
        layouts = write_store(store, targets, args.store_backups)
        seconds = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            for layout in layouts:
                list_backups(store, layout, signing_key=None)
            seconds.append(time.perf_counter() - began)
    finally:
        daemon.stop(timeout=3)
    median = statistics.median(seconds)
    return {"request": f"store: list_backups of {len(targets)} targets x {args.store_backups} backups (moto)",
            "median": median, "max": max(seconds), "bytes": 0, "seconds": seconds,
            "ok": "over (not read)" if median > args.target else "yes (not read)"}


def bench(root: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Write the history, then time the scorecard's three answers (and the store read the page does not do)."""
    url = f"sqlite:///{root / 'history.sqlite'}"
    targets = [f"fleet_{index:02d}" for index in range(1, args.targets + 1)]
    say(f"writing {args.records:,} records over {len(targets)} targets into {url}")
    began = time.monotonic()
    write_history(url, args.records, targets)
    say(f"  written in {time.monotonic() - began:.1f} s")
    infos = [TargetInfo(name, owner="dba-team", tags=("bench",), rto_objective_seconds=1800,
                        rpo_objective_seconds=900) for name in targets]
    client = TestClient(create_app(lambda: (url, infos)))
    paths = ["/api/fleet", f"/api/targets/{targets[0]}", f"/api/targets/{targets[0]}/runs?limit=50",
             f"/api/targets/{targets[0]}/runs?offset={args.records // len(targets) - 50}&limit=50"]
    rows = [measure(client, path, args.repeat, args.target) for path in paths]
    return rows + ([measure_store(root, targets, args)] if args.store_backups else [])


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the table; 1 when an answer's median is over the target."""
    parser = new_parser("bench/scorecard.py", __doc__)
    parser.add_argument("--records", type=int, default=10_000, help="drill records in the history (default 10000)")
    parser.add_argument("--targets", type=int, default=30, help="targets they are spread over (default 30)")
    parser.add_argument("--repeat", type=int, default=5, help="requests per answer (default 5)")
    parser.add_argument("--target", type=float, default=1.0, help="median seconds an answer may take (default 1.0)")
    parser.add_argument("--store-backups", type=int, default=7,
                        help="backups per target in the store read for comparison (default 7; 0: skip)")
    parser.add_argument("--work-dir", type=Path, help="where the history goes (default: a new temp dir)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.records < args.targets * 60 or args.targets < 1 or args.repeat < 1:
        parser.error("need --targets >= 1, --repeat >= 1 and at least 60 records per target")
    rows = run_cleaning_up(lambda root: bench(root, args), work_dir=args.work_dir, temp_prefix="drdrill-scorecard-",
                           failures=(RuntimeError,))
    print(f"scorecard answers with {args.records:,} records over {args.targets} targets, {args.repeat} requests each, "
          f"target {args.target} s median\n")
    print(format_table(rows, COLUMNS))
    if args.json:
        args.json.write_text(json.dumps({"meta": measurement_meta(vars(args) | {"json": None, "work_dir": None}),
                                         "answers": rows}, indent=2, default=str))
    return 0 if all(row["ok"] != "NO" for row in rows) else 1  # the store row compares; the page does not read it


if __name__ == "__main__":
    sys.exit(main())
