"""The run-level exclusion between drills of one target, on a real SQLite history database."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill import drill_locks
from drdrill.drill_locks import holders, release, take, take_waiting, this_process

pytestmark = pytest.mark.unit
HOUR = timedelta(hours=1)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/history.sqlite"


def test_a_failover_is_refused_while_a_backup_of_the_same_target_holds_it(url: str) -> None:
    assert take(url, target="shop", drill="backup", run_id="b1", expires_in=HOUR) is None
    holder = take(url, target="shop", drill="failover", run_id="f1", expires_in=HOUR)
    assert holder is not None and (holder.run_id, holder.drill) == ("b1", "backup")
    assert "backup drill run b1" in holder.describe()
    assert [h.run_id for h in holders(url, "shop")] == ["b1"]  # the refused run holds nothing


def test_drills_that_do_not_conflict_run_together_and_other_targets_are_apart(url: str) -> None:
    assert take(url, target="shop", drill="backup", run_id="b1", expires_in=HOUR) is None
    assert take(url, target="shop", drill="restore", run_id="r1", expires_in=HOUR) is None
    assert take(url, target="shop", drill="binlog_archive", run_id="a1", expires_in=HOUR) is None
    assert take(url, target="billing", drill="failover", run_id="f1", expires_in=HOUR) is None
    assert take(url, target="shop", drill="backup", run_id="b2", expires_in=HOUR).run_id == "b1"  # backups don't overlap
    assert take(url, target="shop", drill="restore", run_id="r2", expires_in=HOUR) is None


def test_a_released_or_expired_hold_is_ignored_and_a_retry_of_the_same_run_renews(url: str) -> None:
    earlier = datetime.now(timezone.utc) - 2 * HOUR
    assert take(url, target="shop", drill="failover", run_id="dead", expires_in=HOUR, now=earlier) is None
    assert take(url, target="shop", drill="backup", run_id="b1", expires_in=HOUR) is None  # the dead run's expired
    assert [h.run_id for h in holders(url, "shop")] == ["b1"]  # and is removed
    assert take(url, target="shop", drill="backup", run_id="b1", expires_in=HOUR) is None  # its own retry
    release(url, target="shop", run_id="b1")
    assert take(url, target="shop", drill="failover", run_id="f1", expires_in=HOUR) is None


def test_a_hold_of_a_process_that_was_killed_is_ignored_at_once_and_a_live_ones_holds(url: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host, _, _ = this_process().split(":")
        started = drill_locks.process_state(child.pid)[1]  # type: ignore[index]
        assert take(url, target="shop", drill="backup", run_id="cli__b", expires_in=HOUR,
                    process=f"{host}:{child.pid}:{started}") is None
        assert take(url, target="shop", drill="failover", run_id="f1", expires_in=HOUR).run_id == "cli__b"  # alive
        child.kill()
        child.wait()
        assert take(url, target="shop", drill="failover", run_id="f1", expires_in=HOUR) is None  # killed: gone
        assert [h.run_id for h in holders(url, "shop")] == ["f1"]
    finally:
        child.kill()
        child.wait()


def test_a_hold_of_a_dag_run_airflow_has_ended_is_ignored_at_once_and_a_running_ones_holds(url: str) -> None:
    ended_runs: set[str] = set()
    asked: list[str] = []

    def ended(holder: drill_locks.Holder) -> bool:
        asked.append(holder.run_id)
        return holder.run_id in ended_runs

    assert take(url, target="shop", drill="backup", run_id="scheduled__b", expires_in=HOUR) is None
    assert take(url, target="shop", drill="failover", run_id="f1", expires_in=HOUR, ended=ended).run_id == "scheduled__b"
    ended_runs.add("scheduled__b")  # marked failed in the UI: its record never ran, its hold was never released
    assert take(url, target="shop", drill="failover", run_id="f1", expires_in=HOUR, ended=ended) is None
    assert [h.run_id for h in holders(url, "shop")] == ["f1"]
    assert asked == ["scheduled__b", "scheduled__b"]  # only rivals are asked about, and a CLI holder never is:
    assert take(url, target="billing", drill="backup", run_id="cli__b", expires_in=HOUR, process=this_process()) is None
    assert take(url, target="billing", drill="failover", run_id="f2", expires_in=HOUR,
                ended=lambda holder: True).run_id == "cli__b"  # its process decides, and it runs


def test_a_history_made_before_holds_named_their_process_gets_the_column(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path}/old.sqlite"
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text("CREATE TABLE drill_locks (target VARCHAR(64), run_id VARCHAR(250), "
                                   "drill VARCHAR(32), taken_at VARCHAR(40), expires_at VARCHAR(40))"))
    assert take(url, target="shop", drill="backup", run_id="b1", expires_in=HOUR, process=this_process()) is None
    [holder] = holders(url, "shop")
    assert holder.process == this_process()


def test_a_waiting_drill_starts_once_the_holder_releases_and_is_refused_when_it_does_not(url: str) -> None:
    assert take(url, target="shop", drill="backup", run_id="b1", expires_in=HOUR) is None
    assert take_waiting(url, target="shop", drill="failover", run_id="f1", expires_in=HOUR,
                        wait=timedelta(seconds=0.3), poll_seconds=0.1).run_id == "b1"
    threading.Timer(0.2, release, kwargs={"url": url, "target": "shop", "run_id": "b1"}).start()
    assert take_waiting(url, target="shop", drill="failover", run_id="f1", expires_in=HOUR,
                        wait=timedelta(seconds=5), poll_seconds=0.05) is None


def test_two_runs_taking_at_once_never_both_win(url: str) -> None:
    take(url, target="shop", drill="restore", run_id="warm", expires_in=HOUR)  # tables and guard row exist
    release(url, target="shop", run_id="warm")
    results: dict[str, object] = {}
    start = threading.Barrier(8)

    def contend(run_id: str, drill: str) -> None:
        start.wait()
        results[run_id] = take(url, target="shop", drill=drill, run_id=run_id, expires_in=HOUR)

    threads = [threading.Thread(target=contend, args=(f"run{i}", "failover" if i % 2 else "backup")) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [run_id for run_id, holder in results.items() if holder is None]
    assert len(winners) == 1, results
    assert [h.run_id for h in holders(url, "shop")] == winners


def test_conflicts_are_symmetric() -> None:
    for drill, others in drill_locks.CONFLICTS.items():
        for other in others:
            assert drill_locks.conflicts(other, drill), (drill, other)
