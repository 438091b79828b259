"""The self-managed path without servers: its refusal of an environment-defined source, its fault, its plan in words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drdrill.config import Target
from drdrill.drills.failover.logins import failover_servers
from drdrill.drills.failover.path import Connections, Run
from drdrill.drills.failover.self_managed import SelfManagedPath, fault_for, refuse_source_from_environment
from drdrill.endpoints import MySQLEndpoint
from drdrill.findings import DrillFailed
from drdrill.servers.faults import ShutdownFault

pytestmark = pytest.mark.unit

SERVERS = failover_servers(MySQLEndpoint("db1", 3306, "drill", "a"), MySQLEndpoint("db2", 3307, "drill", "a"),
                           MySQLEndpoint("x", 1, "canary", "c"), "drill")


def _unused(*_args: Any) -> Any:
    raise AssertionError("not used here")


def test_a_source_connection_from_the_environment_is_refused_before_anything_is_touched(
        make_target: Callable[..., Target]) -> None:
    refuse_source_from_environment(make_target(), None)
    with pytest.raises(DrillFailed) as caught:
        refuse_source_from_environment(make_target(), "AIRFLOW_CONN_FO_PRIMARY")
    assert [f.code for f in caught.value.findings] == ["CONFIG_INVALID"]
    assert "AIRFLOW_CONN_FO_PRIMARY" in str(caught.value) and "Nothing was touched" in str(caught.value)


def test_the_fault_gets_preflights_facts_and_the_users_restart_command(make_target: Callable[..., Target],
                                                                       tmp_path: Path) -> None:
    target = make_target(fault="shutdown", restart_command="ssh db1 systemctl start mariadb")
    fault = fault_for(target, SERVERS, {"process": None}, tmp_path)
    assert isinstance(fault, ShutdownFault) and fault.restart_command == "ssh db1 systemctl start mariadb"
    assert fault.describe() == "SHUTDOWN statement sent to drill@db1:3306" and fault.log_dir == tmp_path


def test_the_approval_text_says_which_replica_is_promoted_and_how_it_ends(make_target: Callable[..., Target],
                                                                          tmp_path: Path) -> None:
    connections = Connections(lambda: SERVERS, redirect_source=_unused, store=_unused, rds=_unused)
    path = SelfManagedPath(Run(make_target(switch_back=False, redirect_command="/usr/local/bin/repoint"),
                               connections, tmp_path, "r"))
    text = path.approval_text("kill -9 of mariadbd pid 1")
    assert text.startswith("Failover drill on target **fo** (drill):\n\n1. Start a canary writer (one row every "
                           "100 ms) on db1:3306.\n2. Inject the fault: kill -9 of mariadbd pid 1.\n3. Promote the "
                           "replica db2:3307")
    assert "4. Point the Airflow connection `fo_primary` at it and run /usr/local/bin/repoint." in text
    assert "and leave the replica as the new primary" in text
