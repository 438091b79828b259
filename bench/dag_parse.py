"""Benchmark DAG parse time: how long each file in dags/ takes the DAG processor, against a 1 s target.

Each file is parsed --repeat times, each time in a fresh Python process that has imported Airflow first
(as the DAG processor has), with ``drdrill.airflow.parse_probe``: it times only the file itself, and fails
the file if it opens a socket or reads a connection or Variable. The config is the one the DAGs would read
($DRDRILL_CONFIG, else include/drills.yaml). The report gives median and max seconds per file and the DAGs
it produced; the script exits 1 when a file's median exceeds --target or a parse fails or takes over 60 s
(reported as its row; the other files are still measured). Run it on a quiet
machine: other load on the CPUs shows up one to one in these numbers (on 2 busy cores a 0.3 s file took 1.3 s).

Run:  .venv/bin/python bench/dag_parse.py [--repeat 5] [--target 1.0] [--json out.json]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import format_table, new_parser, say

ROOT = Path(__file__).resolve().parents[1]
PARSE_TIMEOUT = 60  # seconds; the DAG processor's own default timeout is 30
COLUMNS = [("DAG file", "file", "{}"), ("DAGs", "dags", "{}"), ("median s", "median", "{:.3f}"),
           ("max s", "max", "{:.3f}"), ("within target", "ok", "{}")]


def parse_once(path: Path) -> dict[str, Any]:
    """One probe run of ``path``; RuntimeError with the probe's stderr when the file does not parse cleanly."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}
    env.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
    try:
        done = subprocess.run([sys.executable, "-m", "drdrill.airflow.parse_probe", str(path)],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=PARSE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{path.name} did not finish parsing within {PARSE_TIMEOUT} s") from None
    if done.returncode != 0:
        raise RuntimeError(f"{path.name} did not parse:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(path: Path, repeat: int, target: float) -> dict[str, Any]:
    """Median and max parse seconds of one file over ``repeat`` runs."""
    runs = [parse_once(path) for _ in range(repeat)]
    seconds = [run["seconds"] for run in runs]
    median = statistics.median(seconds)
    return {"file": path.name, "dags": len(runs[0]["dag_ids"]), "median": median, "max": max(seconds),
            "ok": "yes" if median <= target else "NO", "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    """Measure every DAG file and print the table; 1 when a file is over target or fails to parse."""
    parser = new_parser("bench/dag_parse.py", __doc__)
    parser.add_argument("--repeat", type=int, default=5, help="parses per file (default 5)")
    parser.add_argument("--target", type=float, default=1.0, help="median seconds a file may take (default 1.0)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    rows = []
    for path in sorted((ROOT / "dags").glob("*.py")):
        say(f"parsing {path.name} x{args.repeat}")
        try:
            rows.append(measure(path, args.repeat, args.target))
        except RuntimeError as exc:  # reported as a row; the other files are still measured
            say(str(exc))
            rows.append({"file": path.name, "dags": 0, "median": float("nan"), "max": float("nan"),
                         "ok": "PARSE FAILED", "seconds": []})
    print(f"DAG parse time on {os.cpu_count()} CPU(s), {args.repeat} parse(s) per file, target {args.target} s median\n")
    print(format_table(rows, COLUMNS))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(row["ok"] == "yes" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
