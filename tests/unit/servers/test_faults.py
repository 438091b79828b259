"""The fault registry and the faults' own logic, with a stand-in RDS client where AWS would answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.ports import find_free_port
from drdrill.servers.faults import (
    FAULT_TYPES,
    AuroraFailoverFault,
    KillFault,
    RdsRebootFault,
    is_managed,
    managed_fault,
    server_fault,
)

pytestmark = pytest.mark.unit


class FakeRds:
    """Answers describe_db_clusters / describe_db_instances from dicts; records the calls that change things."""

    def __init__(self, cluster: dict[str, Any] | None = None, instance: dict[str, Any] | None = None) -> None:
        self.cluster, self.instance = cluster, instance
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def describe_db_clusters(self, **kwargs: Any) -> dict[str, Any]:
        return {"DBClusters": [self.cluster]}

    def describe_db_instances(self, **kwargs: Any) -> dict[str, Any]:
        return {"DBInstances": [self.instance]}

    def failover_db_cluster(self, **kwargs: Any) -> None:
        self.calls.append(("failover_db_cluster", kwargs))
        target = kwargs.get("TargetDBInstanceIdentifier")
        for member in self.cluster["DBClusterMembers"] if self.cluster else []:
            member["IsClusterWriter"] = member["DBInstanceIdentifier"] == target

    def reboot_db_instance(self, **kwargs: Any) -> None:
        self.calls.append(("reboot_db_instance", kwargs))


def _cluster(status: str, writer: str | None, members: tuple[str, ...] = ("shop-0", "shop-1")) -> dict[str, Any]:
    return {"Status": status, "DBClusterMembers": [
        {"DBInstanceIdentifier": name, "IsClusterWriter": name == writer} for name in members]}


def test_the_registry_names_every_fault_once_and_knows_which_are_managed() -> None:
    assert tuple(FAULT_TYPES) == ("kill", "shutdown", "rds_reboot", "aurora_failover")
    assert [name for name in FAULT_TYPES if is_managed(name)] == ["rds_reboot", "aurora_failover"]
    assert all(kind.name == name for name, kind in FAULT_TYPES.items())


def test_each_path_builds_only_its_own_kind_of_fault(tmp_path: Path) -> None:
    endpoint = MySQLEndpoint("db1", 3306, "drill")
    assert isinstance(server_fault("kill", endpoint, {}, tmp_path), KillFault)
    assert isinstance(managed_fault("rds_reboot", FakeRds(), db_instance_id="db1"), RdsRebootFault)
    with pytest.raises(DrdrillError, match="managed service's failover"):
        server_fault("aurora_failover", endpoint, {}, tmp_path)
    with pytest.raises(DrdrillError, match="done to a server"):
        managed_fault("shutdown", FakeRds())


def test_the_kill_fault_names_its_process_without_the_servers_other_options(tmp_path: Path) -> None:
    argv = ["/usr/sbin/mariadbd", "--defaults-file=/etc/mysql/db1.cnf", "--ssl-key=/etc/mysql/private/db1.key",
            "--datadir=/var/lib/mysql", "--read-only=ON"]
    fault = server_fault("kill", MySQLEndpoint("db1", 3306, "drill"), {"pid": 4242, "argv": argv, "hostname": "db1"},
                         tmp_path)
    assert fault.describe() == ("kill -9 of mariadbd pid 4242 (/usr/sbin/mariadbd --defaults-file=/etc/mysql/db1.cnf "
                                "--datadir=/var/lib/mysql) serving db1:3306 on db1")


def test_a_down_server_without_a_way_to_start_it_is_an_error_that_says_how(tmp_path: Path) -> None:
    nobody = MySQLEndpoint("127.0.0.1", find_free_port(), "drill", "secret")  # refused: down
    with pytest.raises(DrdrillError, match="does not know how to start it") as caught:
        server_fault("shutdown", nobody, {}, tmp_path).undo()
    assert "restart_command" in str(caught.value)


def test_an_aurora_failover_needs_a_reader_and_is_judged_by_where_the_writer_went() -> None:
    rds = FakeRds(_cluster("available", "shop-0"))
    fault = managed_fault("aurora_failover", rds, db_cluster_id="shop")
    assert isinstance(fault, AuroraFailoverFault) and fault.describe() == "Aurora FailoverDBCluster of shop"
    before = fault.service_state()
    assert before == {"status": "available", "writer": "shop-0", "members": ["shop-0", "shop-1"]}
    assert fault.problems(before) == []
    assert fault.problems({"status": "modifying", "writer": None, "members": ["shop-0"]}) == [
        "the cluster is 'modifying', not 'available'",
        "the cluster has 1 instance(s); a failover needs a reader to promote", "the cluster has no writer instance"]
    moved = {**before, "writer": "shop-1"}
    assert not fault.failing_over(before, before) and fault.failing_over(before, moved)
    assert fault.failing_over(before, {**before, "status": "failing-over"})
    assert fault.failed_over(before, moved) and not fault.failed_over(before, {**moved, "status": "failing-over"})
    assert not fault.failed_over(before, before)  # available again, but the writer never moved


def test_aurora_switches_back_to_the_original_writer_only_when_it_moved() -> None:
    rds = FakeRds(_cluster("available", "shop-0"))
    fault = managed_fault("aurora_failover", rds, db_cluster_id="shop")
    before = fault.service_state()
    assert fault.switch_back(before) is None and rds.calls == []
    rds.failover_db_cluster(DBClusterIdentifier="shop", TargetDBInstanceIdentifier="shop-1")
    assert fault.switch_back(before) == "FailoverDBCluster back to shop-0"
    assert rds.calls[-1] == ("failover_db_cluster", {"DBClusterIdentifier": "shop", "TargetDBInstanceIdentifier": "shop-0"})


def test_an_rds_reboot_needs_multi_az_and_is_done_once_available_again() -> None:
    rds = FakeRds(instance={"DBInstanceStatus": "available", "MultiAZ": False, "AvailabilityZone": "a"})
    fault = managed_fault("rds_reboot", rds, db_instance_id="db1")
    state = fault.service_state()
    assert fault.problems(state) == ["the instance is not Multi-AZ, so a forced failover has no standby to fail over to"]
    assert fault.problems({**state, "multi_az": True}) == []
    fault.inject()
    assert rds.calls == [("reboot_db_instance", {"DBInstanceIdentifier": "db1", "ForceFailover": True})]
    assert fault.failing_over(state, {**state, "zone": "b"}) and not fault.failing_over(state, state)
    assert fault.failed_over(state, state) and not fault.failed_over(state, {**state, "status": "rebooting"})
