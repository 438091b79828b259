"""Benchmark the DR scorecard on a big history: the JSON the fleet page, a target page and a history page load, with
10,000 drill records (default) over 30 targets, against a 1 s bound for each answer.

The script writes the records with ``drdrill.history.record_drill`` into a new SQLite history (as the drills do;
mixed kinds and verdicts, RTO/RPO, stages, findings), then asks the scorecard's app (the same FastAPI app the
plugin mounts in Airflow's API server, here without Airflow's auth in front) for ``/api/fleet``,
``/api/targets/<t>`` and ``/api/targets/<t>/runs`` ``--repeat`` times each and reports the median and max
seconds and the answer's size. The page draws itself in the browser from these answers. It exits 1 when a
median is over ``--target`` seconds.

Run:  .venv/bin/python bench/scorecard.py [--records 10000] [--targets 30] [--repeat 5] [--json out.json]
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

from drdrill.drill_kinds import drill_names
from drdrill.findings import Finding
from drdrill.history import DrillRecord, record_drill
from drdrill.scorecard.app import create_app
from drdrill.scorecard.queries import TargetInfo

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


def bench(root: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Write the history, then time the scorecard's three answers."""
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
    return [measure(client, path, args.repeat, args.target) for path in paths]


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the table; 1 when an answer's median is over the target."""
    parser = new_parser("bench/scorecard.py", __doc__)
    parser.add_argument("--records", type=int, default=10_000, help="drill records in the history (default 10000)")
    parser.add_argument("--targets", type=int, default=30, help="targets they are spread over (default 30)")
    parser.add_argument("--repeat", type=int, default=5, help="requests per answer (default 5)")
    parser.add_argument("--target", type=float, default=1.0, help="median seconds an answer may take (default 1.0)")
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
    return 0 if all(row["ok"] == "yes" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
