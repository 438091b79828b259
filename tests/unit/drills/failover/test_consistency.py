"""verify_consistency's verdict from the servers' states and checksums (read through stand-ins, no server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from drdrill.config import Target
from drdrill.drills.failover import consistency
from drdrill.drills.failover.logins import failover_servers
from drdrill.endpoints import MySQLEndpoint
from drdrill.findings import DrillFailed
from drdrill.servers.topology import ServerState

pytestmark = pytest.mark.unit

PRIMARY, REPLICA = MySQLEndpoint("db1", 3306, "drill", "a"), MySQLEndpoint("db2", 3307, "drill", "a")
SERVERS = failover_servers(PRIMARY, REPLICA, MySQLEndpoint("x", 1, "canary", "c"), "drill")


def _state(server_id: int, *, read_only: bool, master: int = 0, running: bool = True) -> ServerState:
    return ServerState(server_id=server_id, read_only=read_only, gtid_binlog_pos="0-1-5", gtid_slave_pos="0-1-5",
                       gtid_io_pos="", replicating_from=f"db:{3306 if master == 1 else 3307}" if master else None,
                       io_running="Yes" if running else "No", sql_running="Yes" if master else None,
                       seconds_behind=0 if master else None, last_io_error="", last_sql_error="", master_server_id=master)


def _servers_say(monkeypatch: pytest.MonkeyPatch, states: dict[int, ServerState], differing: list[str] | None = None,
                 reached: bool = True) -> list[tuple[int, int]]:
    compared: list[tuple[int, int]] = []

    def compare(primary: MySQLEndpoint, replica: MySQLEndpoint, databases: Any) -> dict[str, Any]:
        compared.append((primary.port, replica.port))
        return {"position": "0-1-5", "reached": reached, "tables": 2, "differing": differing or []}

    monkeypatch.setattr(consistency, "state_of", lambda endpoint: states[endpoint.port])
    monkeypatch.setattr(consistency, "compare_checksums", compare)
    return compared


def test_roles_as_before_replication_running_and_equal_tables_is_consistent(
        monkeypatch: pytest.MonkeyPatch, make_target: Callable[..., Target]) -> None:
    compared = _servers_say(monkeypatch, {3306: _state(1, read_only=False), 3307: _state(2, read_only=True, master=1)})
    done = consistency.verify_consistency(make_target(), SERVERS, expect_swapped=False)
    assert done == {"tables_compared": 2, "position": "0-1-5", "primary": PRIMARY.describe(),
                    "replica": REPLICA.describe()}
    assert compared == [(3306, 3307)]


def test_swapped_roles_are_expected_only_when_asked(monkeypatch: pytest.MonkeyPatch,
                                                    make_target: Callable[..., Target]) -> None:
    compared = _servers_say(monkeypatch, {3307: _state(2, read_only=False), 3306: _state(1, read_only=True, master=2)})
    assert consistency.verify_consistency(make_target(), SERVERS, expect_swapped=True)["primary"] == REPLICA.describe()
    assert compared == [(3307, 3306)]
    with pytest.raises(DrillFailed) as caught:
        consistency.verify_consistency(make_target(), SERVERS, expect_swapped=False)
    assert [f.code for f in caught.value.findings] == ["TOPOLOGY_NOT_RESTORED"]
    assert "should be the writable primary" in str(caught.value) and compared == [(3307, 3306)]  # not summed


@pytest.mark.parametrize(("replica", "differing", "reached", "says"), [
    (_state(2, read_only=False, master=1), None, True, "is writable"),
    (_state(2, read_only=True, master=1, running=False), None, True, "should replicate from 3306"),
    (_state(2, read_only=True, master=1), ["drill.items"], True, "tables differ between primary and replica: drill.items"),
    (_state(2, read_only=True, master=1), None, False, "the replica did not reach the snapshot"),
])
def test_anything_off_is_topology_not_restored(monkeypatch: pytest.MonkeyPatch, make_target: Callable[..., Target],
                                               replica: ServerState, differing: list[str] | None, reached: bool,
                                               says: str) -> None:
    _servers_say(monkeypatch, {3306: _state(1, read_only=False), 3307: replica}, differing, reached)
    with pytest.raises(DrillFailed) as caught:
        consistency.verify_consistency(make_target(), SERVERS, expect_swapped=False)
    assert [f.code for f in caught.value.findings] == ["TOPOLOGY_NOT_RESTORED"] and says in str(caught.value)
