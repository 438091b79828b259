"""restore_topology's choices from the servers' states (topology moves recorded by stand-ins, no server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drdrill.config import Target
from drdrill.drills.failover import fail_back
from drdrill.drills.failover.errant import LostTransaction
from drdrill.drills.failover.logins import failover_servers
from drdrill.endpoints import MySQLEndpoint
from drdrill.findings import DrillFailed
from drdrill.servers.topology import ServerState

pytestmark = pytest.mark.unit

PRIMARY, REPLICA = MySQLEndpoint("db1", 3306, "drill", "a"), MySQLEndpoint("db2", 3307, "drill", "a")
SERVERS = failover_servers(PRIMARY, REPLICA, MySQLEndpoint("x", 1, "canary", "c"), "drill")


class Restarted:
    """A fault whose undo started the old primary again."""

    def undo(self) -> dict[str, Any]:
        return {"restarted": True, "how": "same command line, read-only"}


def _state(server_id: int, *, master: int = 0, binlog: str = "0-1-5", slave: str = "0-1-5") -> ServerState:
    return ServerState(server_id=server_id, read_only=bool(master), gtid_binlog_pos=binlog, gtid_slave_pos=slave,
                       gtid_io_pos="", replicating_from="db:3306" if master else None, io_running=None,
                       sql_running=None, seconds_behind=None, last_io_error="", last_sql_error="",
                       master_server_id=master)


def _moves(monkeypatch: pytest.MonkeyPatch, primary: ServerState, replica: ServerState) -> list[str]:
    """Make the servers report ``primary`` and ``replica``; the moves restore_topology makes, in order."""
    moves: list[str] = []
    states = {3306: primary, 3307: replica}
    monkeypatch.setattr(fail_back, "state_of", lambda endpoint: states[endpoint.port])
    monkeypatch.setattr(fail_back, "set_read_only", lambda endpoint, on: moves.append(f"read_only {endpoint.port} {on}"))
    monkeypatch.setattr(fail_back, "reconnect_replica", lambda endpoint, timeout: False)
    monkeypatch.setattr(fail_back, "wait_caught_up", lambda replica, primary, timeout: moves.append(
        f"caught up {replica.port}"))
    monkeypatch.setattr(fail_back, "rejoin_as_replica", lambda replica, primary, login, position, **_: moves.append(
        f"rejoin {replica.port} -> {primary.port} at {position}"))
    monkeypatch.setattr(fail_back, "switchover", lambda old, new, login, timeout, **_: moves.append(
        f"switchover {old.port} -> {new.port}"))
    return moves


def _restore(target: Target, tmp_path: Path) -> dict[str, Any]:
    return fail_back.restore_topology(target, SERVERS, Restarted(), store=None, save_key="k",  # type: ignore[arg-type]
                                      work_dir=tmp_path)


def test_a_replica_that_still_follows_the_primary_just_resumes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               make_target: Callable[..., Target]) -> None:
    moves = _moves(monkeypatch, _state(1), _state(2, master=1))
    back = _restore(make_target(), tmp_path)
    assert back["roles"] == "original" and back["actions"][0] == "old primary restarted (same command line, read-only)"
    assert moves == ["read_only 3307 True", "read_only 3306 False", "caught up 3307"]


def test_a_promotion_that_never_took_a_write_follows_the_primary_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                       make_target: Callable[..., Target]) -> None:
    moves = _moves(monkeypatch, _state(1), _state(2))  # replication reset, but nothing written beyond it
    back = _restore(make_target(switch_back=False), tmp_path)
    assert back["roles"] == "original" and moves[0] == "rejoin 3307 -> 3306 at 0-1-5"


@pytest.mark.parametrize(("switch_back", "roles", "last"), [(True, "original", "switchover 3307 -> 3306"),
                                                             (False, "swapped", "caught up 3306")])
def test_a_promoted_replica_keeps_the_writes_and_the_old_primary_rejoins_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_target: Callable[..., Target], switch_back: bool,
        roles: str, last: str) -> None:
    moves = _moves(monkeypatch, _state(1), _state(2, binlog="0-2-6", slave="0-1-5"))
    back = _restore(make_target(switch_back=switch_back), tmp_path)
    assert back["roles"] == roles and back["findings"] == []  # nothing errant: the old primary had nothing more
    assert moves[0] == "rejoin 3306 -> 3307 at 0-1-5" and moves[-1] == last


def test_errant_transactions_under_policy_stop_leave_the_old_primary_out_and_say_so(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_target: Callable[..., Target]) -> None:
    moves = _moves(monkeypatch, _state(1, binlog="0-1-7"), _state(2, binlog="0-2-6", slave="0-1-5"))
    monkeypatch.setattr(fail_back.errant, "list_lost", lambda old, since, work_dir: [
        LostTransaction("0-1-6", "2026-12-06T10:00:00+00:00", 100), LostTransaction("0-1-7", "2026-12-06T10:00:01+00:00", 90)])
    monkeypatch.setattr(fail_back.errant, "save_lost", lambda old, since, store, key, work_dir: f"s3://b/{key}")
    with pytest.raises(DrillFailed) as caught:
        _restore(make_target(errant_transactions="stop"), tmp_path)
    assert [f.code for f in caught.value.findings] == ["ERRANT_TRANSACTIONS", "FAILBACK_FAILED"]
    assert "2 transaction(s) the new primary never received (0-1-6, 0-1-7); saved to s3://b/k" in str(caught.value)
    assert moves == []  # left read-only and out of replication
