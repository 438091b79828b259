"""What both failover paths share: the refusal, lazily resolved connections, the run's files, the cleanup."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drdrill.config import Target
from drdrill.drills.failover.logins import failover_servers
from drdrill.drills.failover.path import Connections, Run, refuse_unless_allowed, run_dir, stop_canary
from drdrill.drills.failover.self_managed import SelfManagedPath
from drdrill.endpoints import MySQLEndpoint
from drdrill.findings import DrillFailed, Finding
from drdrill.servers.scratch import run_key

pytestmark = pytest.mark.unit


def _connections(resolved: list[int] | None = None) -> Connections:
    def servers() -> Any:
        if resolved is not None:
            resolved.append(1)
        endpoint = MySQLEndpoint("db1", 3306, "drill", "a")
        return failover_servers(endpoint, endpoint, endpoint, "drill")

    def unused(*_args: Any) -> Any:
        raise AssertionError("not used here")

    return Connections(servers, redirect_source=unused, store=unused, rds=unused)


def test_only_a_target_that_allows_failover_drills_and_has_a_replica_or_a_managed_fault_is_drilled(
        make_target: Callable[..., Target]) -> None:
    target = make_target()
    refuse_unless_allowed(target)
    refuse_unless_allowed(dataclasses.replace(make_target(fault="aurora_failover", db_cluster_id="shop"),
                                              replica_conn_id=None))
    for refused in (dataclasses.replace(target, allow_failover_drill=False),
                    dataclasses.replace(target, replica_conn_id=None)):
        with pytest.raises(DrillFailed) as caught:
            refuse_unless_allowed(refused)
        assert [f.code for f in caught.value.findings] == ["CONFIG_INVALID"]
        assert "does not allow failover drills" in str(caught.value) and "nothing was touched" in str(caught.value)


def test_connections_resolve_the_logins_once_and_only_when_used() -> None:
    resolved: list[int] = []
    connections = _connections(resolved)
    assert resolved == []
    assert connections.servers.primary.host == "db1" and connections.servers is connections.servers
    assert resolved == [1]


def test_a_runs_files_live_under_its_key(make_target: Callable[..., Target], tmp_path: Path) -> None:
    run = Run(make_target(), _connections(), tmp_path, "manual__2026-12-06")
    assert run.key == run_key("manual__2026-12-06") and run.directory == run_dir(tmp_path, run.key)
    assert run.directory == tmp_path / "failover" / run.key


def test_cleanup_touches_nothing_before_a_fault_and_leaves_a_failed_fail_back_as_it_reported(
        make_target: Callable[..., Target], tmp_path: Path) -> None:
    path = SelfManagedPath(Run(make_target(), _connections(), tmp_path, "r"))
    plan = {"preflight": {"addresses": {"primary": {"host": "db1", "port": 3306}}}}
    assert path.cleanup(plan, injected=False, fail_back_findings=[]) == {"canary_stopped": False,
                                                                        "topology": "untouched"}
    assert path.cleanup({"preflight": {}}, injected=True, fail_back_findings=[])["topology"] == "untouched"
    left = path.cleanup(plan, injected=True, fail_back_findings=[Finding("FAILBACK_FAILED", "locked")])
    assert left["roles"] == "swapped, old primary out of replication"
    assert stop_canary(tmp_path / "never-started") == {"canary_stopped": False}


def test_roles_end_swapped_only_after_a_promotion_without_switch_back(make_target: Callable[..., Target],
                                                                     tmp_path: Path) -> None:
    keep = SelfManagedPath(Run(make_target(switch_back=False), _connections(), tmp_path, "r"))
    back = SelfManagedPath(Run(make_target(switch_back=True), _connections(), tmp_path, "r"))
    assert keep.expect_swapped({"promote": {"writable_at": 1.0}}) is True
    assert keep.expect_swapped({"promote": None}) is False
    assert back.expect_swapped({"promote": {"writable_at": 1.0}}) is False
