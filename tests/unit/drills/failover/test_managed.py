"""The managed path without AWS: its plan in words, its redirect (the endpoint follows), its write check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drdrill.config import Target
from drdrill.drills.failover.logins import failover_servers
from drdrill.drills.failover.managed import ManagedPath, verify_writes
from drdrill.drills.failover.path import Connections, Run
from drdrill.endpoints import MySQLEndpoint
from drdrill.findings import DrillFailed

pytestmark = pytest.mark.unit

WRITER = MySQLEndpoint("shop.cluster-x.rds.amazonaws.com", 3306, "drill", "a")


def _path(target: Target, tmp_path: Path) -> ManagedPath:
    def unused(*_args: Any) -> Any:
        raise AssertionError("not used here")

    servers = failover_servers(WRITER, WRITER, MySQLEndpoint("x", 1, "canary", "c"), "drill")
    return ManagedPath(Run(target, Connections(lambda: servers, redirect_source=unused, store=unused, rds=unused),
                           tmp_path, "r"))


def test_the_approval_text_says_aws_promotes_and_where_the_writer_ends(make_target: Callable[..., Target],
                                                                       tmp_path: Path) -> None:
    text = _path(make_target(fault="aurora_failover", db_cluster_id="shop"), tmp_path).approval_text(
        "Aurora FailoverDBCluster of shop")
    assert "2. Inject the fault: Aurora FailoverDBCluster of shop.\n3. Wait until AWS has promoted" in text
    assert "then fail the cluster back to its original writer" in text and "Promote the replica" not in text
    kept = _path(make_target(fault="aurora_failover", db_cluster_id="shop", switch_back=False), tmp_path).approval_text("x")
    assert "leave the writer where AWS put it" in kept


def test_the_redirect_leaves_the_connection_alone_and_runs_only_the_users_hook(make_target: Callable[..., Target],
                                                                               tmp_path: Path) -> None:
    plan = {"preflight": {"addresses": {"primary": {"host": WRITER.host, "port": 3306},
                                        "replica": {"host": WRITER.host, "port": 3306}}}}
    done = _path(make_target(fault="rds_reboot", db_instance_id="db1"), tmp_path).redirect(plan)
    assert done.pop("redirected_at") > 0  # when clients could reach the new writer: part of the RTO
    assert done == {"connection": "unchanged (the endpoint follows the writer)", "hook": {"command": None}}


def test_no_canary_row_after_the_failover_is_promotion_failed(tmp_path: Path) -> None:
    (tmp_path / "acks.txt").write_text("1 11 100.0\n2 12 105.0\n")
    assert verify_writes(tmp_path, since=104.0, timeout=1)["server_id"] == 12
    with pytest.raises(DrillFailed) as caught:
        verify_writes(tmp_path, since=105.0, timeout=0.1)
    assert [f.code for f in caught.value.findings] == ["PROMOTION_FAILED"]
