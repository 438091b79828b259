"""``drdrill.drills.target_lock``: the CLI's drills hold their target as the DAG's runs do, both ways: a conflicting
holder refuses the drill (DRILL_CONFLICT, could not verify, exit 1) before it touches anything; a holder it does not
conflict with lets it run; its own hold is gone when it ends. No server is needed: past the lock, each drill stops at
its first step for want of one (an empty bucket, a source that never answers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill import drill_locks
from drdrill.cli import drill_exit_code
from drdrill.config import Target
from drdrill.config.models import Timeouts
from drdrill.drills.backup.runner import run_backup_drill
from drdrill.drills.failover.path import Connections, Run
from drdrill.drills.failover.runner import run_failover_drill
from drdrill.drills.pitr.form import PitrOptions
from drdrill.drills.pitr.runner import run_pitr_drill
from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.runner import run_restore_drill
from drdrill.errors import DrdrillError
from drdrill.history import list_drills
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.recovery import NEVER_CONTACTED, empty_servers
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
STARTED = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
HOLDER = "scheduled__2026-11-21T08:55:00+00:00"


def _no_servers() -> Any:
    raise DrdrillError("no server in this test", "")


def _drill(name: str, target: Target, tmp_path: Path, history: str) -> tuple[str, list[str]]:
    """Run the CLI drill ``name``: its verdict and finding codes (a failover's preflight error: its type's name)."""
    work = tmp_path / "work"
    if name == "backup":
        record, findings = run_backup_drill(target, NEVER_CONTACTED, MemoryObjectStore(), signing_key=None,
                                            work_dir=work, history_url=history, run_id="cli__b", started_at=STARTED)
    elif name == "restore":
        record, findings = run_restore_drill(target, empty_servers(), RestoreOptions(), work_dir=work,
                                             history_url=history, run_id="cli__r", started_at=STARTED)
    elif name == "pitr":
        record, findings = run_pitr_drill(target, empty_servers(), PitrOptions(), work_dir=work, history_url=history,
                                          run_id="cli__p", started_at=STARTED)
    else:
        run = Run(target, Connections(_no_servers, redirect_source=_no_servers, store=MemoryObjectStore, rds=_no_servers),
                  work, "cli__f")
        try:
            record, findings = run_failover_drill(run, history_url=history, started_at=STARTED)
        except DrdrillError as exc:  # a preflight that could not reach a server: an error, before anything is touched
            return "error", [type(exc).__name__]
    return record.verdict, [finding.code for finding in findings]


@pytest.fixture
def target(tmp_path: Path) -> Target:
    loaded = load_test_target(tmp_path, extra="    replica_conn_id: shop_replica\n    allow_failover_drill: true\n"
                                        "    failover_drill: {canary_conn_id: shop_canary}\n")
    return dataclasses.replace(loaded, timeouts=Timeouts(lock_wait=timedelta(0)))  # refused at once, not in 10 min


@pytest.mark.parametrize(("drill", "conflicting", "alongside"), [
    ("backup", "failover", "restore"), ("restore", "failover", "pitr"), ("pitr", "failover", "backup"),
    ("failover", "backup", "rpo_monitor"),
])
def test_a_cli_drill_is_refused_by_a_conflicting_holder_and_runs_beside_one_it_does_not_conflict_with(
        target: Target, tmp_path: Path, drill: str, conflicting: str, alongside: str) -> None:
    history = f"sqlite:///{tmp_path}/history.sqlite"
    held: Callable[[str], None] = lambda other: drill_locks.take(  # noqa: E731
        history, target="shop", drill=other, run_id=HOLDER, expires_in=timedelta(hours=1))

    held(conflicting)
    verdict, codes = _drill(drill, target, tmp_path, history)
    assert (verdict, codes) == ("could_not_verify", ["DRILL_CONFLICT"])
    assert drill_exit_code(verdict, []) == 1  # as other drills that could not verify
    assert [(h.run_id, h.drill) for h in drill_locks.holders(history, "shop")] == [(HOLDER, conflicting)]
    if drill != "failover":
        [recorded] = list_drills(history, "shop", drill)
        assert recorded.verdict == "could_not_verify" and recorded.details["failed_steps"] == [
            {"backup": "preflight", "restore": "select_backup", "pitr": "plan"}[drill]]

    drill_locks.release(history, target="shop", run_id=HOLDER)
    held(alongside)
    _, codes = _drill(drill, target, tmp_path, history)
    assert "DRILL_CONFLICT" not in codes and codes  # it ran, and stopped at its first step for want of a server
    assert [h.run_id for h in drill_locks.holders(history, "shop")] == [HOLDER]  # its own hold was released
