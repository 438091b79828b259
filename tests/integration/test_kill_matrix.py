"""The kill matrix: the CLI drill process SIGKILLed at chosen steps never leaves a green verdict or debris.

Each drill (``drdrill backup|restore|pitr shop``) runs as a subprocess against the session sandbox; the test
watches the work dir for the step's own traces (no test hooks in the product) and SIGKILLs the process there:

- backup, during dump and upload (its owner-marked work dir ``<work_dir>/<backup_id>`` appears);
- restore, after the fetch (the scratch server's marked directory appears) and during the restore into the
  scratch server (its ``restore.log`` appears);
- PITR, during the replay (its ``replay-1.log`` appears).

For each: no new passed record, no half-written backup counted valid; after the reaper (``drdrill scratch rm
--orphans``, or the next drill's start for PITR) no scratch mariadbd, datadir, password file or work files of that
run are left; then each drill runs green. A SIGTERM (during the restore) is cleaned up by the drill itself, with no reaper,
and recorded could-not-verify. Left out: kills during select/plan, validate and measure (they hold
nothing the kills above do not: the same scratch server and run dir), during the backup's manifest and verify
steps (the manifest is written last, so a kill before it is the upload case and after it the backup is whole),
and a kill between the scratch server's start and the restore (the during-restore case holds the same debris:
a running scratch server, its datadir and password file, the fetched files).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.helpers.debris import scratch_processes

pytestmark = pytest.mark.integration
DRDRILL = str(Path(sys.executable).parent / "drdrill")


def _drdrill(*args: str) -> dict:
    done = subprocess.run([DRDRILL, *args, "--json"], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=300)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return json.loads(done.stdout)


def _kill_when(argv: list[str], ready: Callable[[], bool], timeout: float = 120,
               sig: signal.Signals = signal.SIGKILL) -> str:
    """Start ``drdrill argv``, send ``sig`` as soon as ``ready()`` and return its output; fail if it ended first."""
    process = subprocess.Popen([DRDRILL, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=os.environ.copy(), text=True)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert process.poll() is None, f"{argv} ended before the kill point: {process.stdout and process.stdout.read()}"
            assert time.monotonic() < deadline, f"{argv} never reached the kill point"
            time.sleep(0.01)
        process.send_signal(sig)
    finally:
        try:
            output = process.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a drill running past the test
            raise
    assert process.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 1), output[-2000:]
    return output


def _passed(drill: str) -> int:
    return sum(1 for record in _drdrill("history", "--target", "shop", "--drill", drill, "--limit", "500")["drills"]
               if record["verdict"] == "passed")


def _debris(work_dir: Path) -> list[str]:
    """Everything a drill run may leave: scratch and run dirs, backup work dirs, short links."""
    found = [str(path) for pattern in ("scratch/[!.]*", "restore/*", "failover/*", "*/owner.json")  # not .slots.lock
             for path in work_dir.glob(pattern)]
    links = [str(link) for link in Path("/tmp").glob("drdrill-*") if link.is_symlink()
             and str(work_dir) in os.readlink(link)]
    return found + links + [f"mariadbd pid {process}" for process in scratch_processes(work_dir)]


def _archived_target_time(sandbox) -> str:
    """A whole second after the newest backup with heartbeats on both sides, its binlogs archived."""
    from drdrill.drills.archive import steps as archive_steps
    from drdrill.drills.pitr.steps import whole_second
    from tests.helpers.drill_helpers import shop_target, store_for

    time.sleep(2.5)
    target_time = whole_second(datetime.now(timezone.utc)) - timedelta(seconds=1)
    time.sleep(1.5)
    target = shop_target()
    archive_steps.archive(target, sandbox.sandbox.backup_endpoint(), store_for(sandbox, target),
                          work_dir=sandbox.config_path.parent / "archive-kill-matrix")
    return target_time.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_killed_drill_is_never_green_and_leaves_nothing_after_the_reaper(sandbox) -> None:
    work_dir = sandbox.config_path.parent / "work"
    assert _drdrill("backup", "shop")["verdict"] == "passed"
    _drdrill("scratch", "rm", "--orphans")
    others = set(_debris(work_dir))  # what other tests' live runs hold in the shared work dir is not this test's

    def debris() -> list[str]:
        return sorted(set(_debris(work_dir)) - others)

    passed = {drill: _passed(drill) for drill in ("backup", "restore", "pitr")}
    valid_before = {b["backup_id"] for b in _drdrill("backups", "list", "shop")["backups"] if b["valid"]}

    _kill_when(["backup", "shop"], lambda: any(work_dir.glob("*/owner.json")))
    backups = _drdrill("backups", "list", "shop")["backups"]
    assert {b["backup_id"] for b in backups if b["valid"]} == valid_before  # the half-written one is not valid

    _kill_when(["restore", "shop"], lambda: any(work_dir.glob("scratch/*/owner.json")))
    _kill_when(["restore", "shop"], lambda: any(work_dir.glob("restore/*/restore.log")))
    left = debris()
    assert any("mariadbd pid" in item for item in left), left  # the kill did leave a running scratch server
    held = {str(Path(path).parent) if path.endswith("owner.json") else path for path in others}
    listed = [item for item in _drdrill("scratch", "list")["leftovers"] if item["directory"] not in held]
    assert listed and all(item["orphan"] and not item["kept"] for item in listed)
    removed = _drdrill("scratch", "rm", "--orphans")["removed"]
    assert {item["kind"] for item in removed} >= {"scratch", "work"}
    assert debris() == []

    to = _archived_target_time(sandbox)
    _kill_when(["pitr", "shop", "--to", to], lambda: any(work_dir.glob("restore/*/replay-1.log")))
    assert debris()
    after_kill = _drdrill("pitr", "shop", "--to", to)
    assert after_kill["verdict"] == "passed", after_kill  # its start reaped the killed run's leftovers
    assert debris() == []

    stopped = json.loads(_kill_when(["restore", "shop", "--json"], lambda: any(work_dir.glob("restore/*/restore.log")),
                                    sig=signal.SIGTERM))  # cleans up by itself, no reaper, and records not green
    assert stopped["verdict"] == "could_not_verify" and "interrupted" in stopped["findings"][0]["message"]
    assert debris() == []

    for drill in ("backup", "restore"):
        assert _drdrill(drill, "shop")["verdict"] == "passed"
    assert debris() == []
    assert {drill: _passed(drill) for drill in passed} == {drill: count + 1 for drill, count in passed.items()}
