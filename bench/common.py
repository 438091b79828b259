"""Helpers the benchmarks share: the bench sandbox of a given size, tool checks, progress, the text table,
the command line and the run with its clean-up.

Not a benchmark itself. The scripts in ``bench/`` import it as ``common`` (Python puts the script's
directory, ``bench/``, first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import signal
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from drdrill import engines
from drdrill.engines import get_engine
from drdrill.sandbox.sample_data import approx_rows_for_size
from drdrill.sandbox.stack import Sandbox
from drdrill.servers.mariadb import LocalMariaDB
from drdrill.sizes import format_size

Column = tuple[str, str, str | None]  # (title, row key, format string; None = format_size)
DEFAULT_ENGINES = ",".join(engines.engine_names())
T = TypeVar("T")


class BenchError(RuntimeError):
    """A drill or a bare step did not succeed, so its timing would mean nothing."""


# -- sandbox per size --------------------------------------------------------------------------------


def rows_written(sandbox: Sandbox) -> int | None:
    """The primary's Handler_write counter (MariaDB 10.11 has no Innodb_rows_inserted), None if unreachable."""
    try:
        with (
            contextlib.closing(sandbox.primary.root_connect(connect_timeout=2)) as conn,
            conn.cursor() as cur,
        ):
            cur.execute("SHOW GLOBAL STATUS LIKE 'Handler_write'")
            return int(cur.fetchone()[1])
    except Exception:  # not started yet, or restarting: just skip this report
        return None


@contextlib.contextmanager
def load_progress(sandbox: Sandbox, rows: int, every: float = 20.0) -> Iterator[None]:
    """Print the loaded row count every ``every`` seconds while the sandbox comes up."""
    stop = threading.Event()
    started = time.monotonic()

    def report() -> None:
        while not stop.wait(every):
            inserted = rows_written(sandbox)
            if inserted is not None:
                say(f"  loading: {inserted:,} / ~{rows:,} rows after {time.monotonic() - started:.0f} s")

    with in_background(report, "load-progress", stop):
        yield


@contextlib.contextmanager
def in_background(work: Callable[[], None], name: str, stop: threading.Event) -> Iterator[None]:
    """Run ``work`` in a daemon thread while the block runs; set ``stop`` and wait for it afterwards."""
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def database_bytes(sandbox: Sandbox) -> dict[str, int]:
    """InnoDB data+index bytes of ``shop`` (information_schema) and the size of its .ibd files."""
    with contextlib.closing(sandbox.primary.root_connect()) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT SUM(data_length + index_length) FROM information_schema.TABLES WHERE table_schema='shop'"
        )
        innodb = int(cur.fetchone()[0] or 0)
    files = sum(path.stat().st_size for path in (sandbox.primary.datadir / "shop").glob("*.ibd"))
    return {"innodb_bytes": innodb, "ibd_bytes": files}


def with_server_memory(sandbox: Sandbox, buffer_pool: str) -> Sandbox:
    """Give the bench's servers a bigger buffer pool and redo log than the sandbox default (64M/48M).

    With the defaults, loading ~1 GB is bound by random secondary-index I/O and takes many minutes
    (8M rows did not finish in 7 min); production-like memory keeps the load to a few minutes.
    Everything a benchmark compares reads from the same server, so the comparison is unaffected.
    """
    for role in ("primary", "replica"):
        spec = getattr(sandbox, role).spec
        extra = {**spec.extra, "innodb_log_file_size": "512M"}
        setattr(sandbox, role, LocalMariaDB(dataclasses.replace(spec, buffer_pool=buffer_pool, extra=extra)))
    return sandbox


def bring_up(sandbox: Sandbox, size: int) -> dict[str, Any]:
    """Start the bench sandbox with about ``size`` bytes of data, then stop what would disturb the timing."""
    rows = approx_rows_for_size(size)
    say(
        f"sandbox in {sandbox.directory} (ports {sandbox.ports.primary}-{sandbox.ports.slack}); "
        f"loading ~{rows:,} rows for ~{format_size(size)}"
    )
    started = time.monotonic()
    with load_progress(sandbox, rows):
        state = sandbox.up(rows=rows, airflow=False)
    sandbox.heartbeat.stop()
    sandbox.replica.stop()
    facts = {
        "rows": sum(state["rows"].values()),
        "load_s": round(time.monotonic() - started, 1),
        **database_bytes(sandbox),
    }
    say(
        f"  loaded {facts['rows']:,} rows in {facts['load_s']} s: InnoDB data+index "
        f"{format_size(facts['innodb_bytes'])}, .ibd files {format_size(facts['ibd_bytes'])}"
    )
    return facts


# -- report ------------------------------------------------------------------------------------------


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """A fixed-width text table of the result rows, right-aligned, one line per row."""
    cells = [
        [format_size(row[key]) if fmt is None else fmt.format(row[key]) for _, key, fmt in columns]
        for row in rows
    ]
    widths = [max(len(title), *(len(line[i]) for line in cells)) for i, (title, _, _) in enumerate(columns)]
    lines = ["  ".join(title.rjust(width) for (title, _, _), width in zip(columns, widths))]
    lines += ["  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in cells]
    return "\n".join(lines)


def measurement_meta(settings: dict[str, Any]) -> dict[str, Any]:
    """A benchmark's JSON ``meta``: the machine, the settings the numbers were measured with, when it finished."""
    return {"host": platform.node(), "cpus": os.cpu_count(), **settings,
            "finished_at": datetime.now(timezone.utc).isoformat()}


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


# -- command line ------------------------------------------------------------------------------------


def check_tools(engines: list[str], extra_tools: Iterable[str] = ()) -> None:
    """Fail before any set-up when a tool is missing (the engines' own, zstd, and ``extra_tools``)."""
    missing = sorted(
        {tool for name in engines for tool in get_engine(name).missing_tools()}
        | {tool for tool in ("zstd", *extra_tools) if shutil.which(tool) is None}
    )
    if missing:
        raise SystemExit(f"missing tools on PATH: {', '.join(missing)}")


def interrupt(signum: int, _frame: object) -> None:
    """SIGTERM behaves like Ctrl-C, so the same clean-up runs."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def new_parser(prog: str, doc: str | None, **options: Any) -> argparse.ArgumentParser:
    """The script's parser: its docstring's first paragraph as description, the rest as epilog."""
    assert doc, f"{prog} has no module docstring"
    description, epilog = doc.split("\n\n", 1)
    return argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter, **options)


def add_engines_argument(parser: argparse.ArgumentParser) -> None:
    """``--engines``, a comma-separated list; ``engine_names`` resolves it after parsing."""
    parser.add_argument("--engines", default=DEFAULT_ENGINES, help=f"comma-separated (default {DEFAULT_ENGINES})")


def engine_names(text: str) -> list[str]:
    """The canonical names of a comma-separated engine list; ValueError for an unknown engine or none at all."""
    names = [get_engine(name).name for name in text.split(",") if name]
    if not names:
        raise ValueError("--engines names no engine")
    return names


def add_sandbox_arguments(parser: argparse.ArgumentParser, *, port_base: int, buffer_pool: str,
                          buffer_pool_help: str) -> None:
    """The options every benchmark shares: server memory, ports, work directory and JSON output."""
    parser.add_argument("--buffer-pool", default=buffer_pool, help=buffer_pool_help)
    parser.add_argument("--port-base", type=int, default=port_base,
                        help=f"sandbox ports are base+1..base+4 (default {port_base})")
    parser.add_argument("--work-dir", type=Path, help="where sandbox and scratch files go (default: a new temp dir)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")


def run_cleaning_up(measure: Callable[[Path], T], *, work_dir: Path | None, temp_prefix: str,
                    failures: tuple[type[Exception], ...] = ()) -> T:
    """``measure(root)`` in ``work_dir``, or in a new temp dir deleted afterwards whatever happens.

    SIGTERM acts like Ctrl-C. Interrupted, it exits 130; failed with one of ``failures``, it says why and
    exits 1; both after ``measure``'s own clean-up and the temp dir's removal.
    """
    signal.signal(signal.SIGTERM, interrupt)
    root = work_dir.resolve() if work_dir else Path(tempfile.mkdtemp(prefix=temp_prefix))
    root.mkdir(parents=True, exist_ok=True)
    try:
        return measure(root)
    except KeyboardInterrupt:
        say("interrupted; cleaning up" if work_dir is None else "interrupted; cleaned up")
        raise SystemExit(130) from None
    except failures as exc:
        say(f"benchmark failed: {exc}")
        raise SystemExit(1) from None
    finally:
        if work_dir is None:
            shutil.rmtree(root, ignore_errors=True)
