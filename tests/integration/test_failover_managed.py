"""The managed-service failover path (Aurora FailoverDBCluster, RDS reboot with failover) against moto's RDS API.

What is real here: the RDS API calls over HTTP (moto server), through the amazon provider's RdsHook and an
Airflow ``aws`` connection, and a real MariaDB standing in for the cluster's writer endpoint. What is not:
moto has no database behind its clusters, so the endpoint never actually goes away; detection comes from the
service's own state (the writer moved), and moto's RebootDBInstance changes nothing at all.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import boto3
import pytest

from drdrill.airflow.connections import rds_client
from drdrill.config import FailoverDrill
from drdrill.drills.failover import managed
from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.failover.path import inject, stop_canary
from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed
from tests.helpers.failover_helpers import (
    ADMIN_PASSWORD,
    CANARY_PASSWORD,
    aurora_cluster,
    direct_run,
    make_target,
    managed_writer,
    run_steps,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def rds(moto_s3, monkeypatch: pytest.MonkeyPatch):
    """A boto3 RDS client on the moto server, and the Airflow connection ``fo_aws`` that reaches it."""
    monkeypatch.setenv("AIRFLOW_CONN_FO_AWS", json.dumps(moto_s3.connection()))
    return boto3.client("rds", endpoint_url=moto_s3.url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", region_name="us-east-1")


def _endpoint(mariadb_factory, tmp_path: Path, **settings):
    """One real server standing in for the writer endpoint, and a target that fails it over through AWS."""
    server = managed_writer(mariadb_factory)
    endpoint = server.endpoint("drill", ADMIN_PASSWORD)
    servers = FailoverServers(primary=endpoint, replica=endpoint,
                                       canary_primary=server.endpoint("canary", CANARY_PASSWORD, "drill"),
                                       canary_replica=server.endpoint("canary", CANARY_PASSWORD, "drill"))
    target = dataclasses.replace(make_target(), replica_conn_id=None, failover_drill=FailoverDrill(
        canary_conn_id="fo_canary", aws_conn_id="fo_aws", **settings))
    return servers, target


def _path(target, servers, tmp_path: Path, run_id: str = "run-a") -> managed.ManagedPath:
    """The managed path of a run on ``servers``, its RDS client from the Airflow connection ``fo_aws`` (RdsHook)."""
    return managed.ManagedPath(direct_run(target, servers, tmp_path, run_id, rds=rds_client("fo_aws"))[0])


def test_aurora_failover_is_detected_measured_and_failed_back(mariadb_factory, rds, tmp_path: Path) -> None:
    members = aurora_cluster(rds, "shop-aurora", 2)
    servers, target = _endpoint(mariadb_factory, tmp_path, fault="aurora_failover", db_cluster_id="shop-aurora")
    path = _path(target, servers, tmp_path)
    try:
        results = run_steps(path)
        consistent = path.verify_consistency(results)
    finally:
        stop_canary(path.run.directory)
    fault = path.fault(results["preflight"])
    assert results["preflight"]["service"]["writer"] == members[0]
    detected, promoted, measured, restored = (results[step] for step in ("detect", "promote", "measure", "fail_back"))
    lost = measured["lost"]
    assert detected["how"] == "the service reported the failover"
    assert promoted["service"]["writer"] == members[1]  # AWS moved the writer; the drill promoted nothing
    assert measured["findings"] == [] and lost["canary_rows_lost"] == 0 and lost["canary_acked_by_old_primary"] >= 1
    assert restored["actions"][-1] == f"FailoverDBCluster back to {members[0]}"
    assert consistent["service"]["writer"] == members[0]
    assert fault.service_state()["writer"] == members[0]


def test_an_aurora_cluster_without_a_reader_is_refused_at_preflight(mariadb_factory, rds, tmp_path: Path) -> None:
    aurora_cluster(rds, "lonely", 1)
    servers, target = _endpoint(mariadb_factory, tmp_path, fault="aurora_failover", db_cluster_id="lonely")
    with pytest.raises(DrillFailed) as caught:
        _path(target, servers, tmp_path).preflight()
    assert [f.code for f in caught.value.findings] == ["CONFIG_INVALID"]
    assert "needs a reader" in str(caught.value)


def test_the_writer_not_where_the_drill_found_it_is_topology_not_restored(mariadb_factory, rds, tmp_path: Path) -> None:
    members = aurora_cluster(rds, "moved", 2)
    servers, target = _endpoint(mariadb_factory, tmp_path, fault="aurora_failover", db_cluster_id="moved",
                                switch_back=False)
    fault = _path(target, servers, tmp_path).fault({})
    plan = managed.preflight(target, servers.primary, fault)
    managed.verify_consistency(servers.primary, fault, plan, expect_swapped=False)  # healthy: quiet
    rds.failover_db_cluster(DBClusterIdentifier="moved", TargetDBInstanceIdentifier=members[1])
    with pytest.raises(DrillFailed) as caught:
        managed.verify_consistency(servers.primary, fault, plan, expect_swapped=False)
    assert [f.code for f in caught.value.findings] == ["TOPOLOGY_NOT_RESTORED"]
    assert f"not {members[0]}" in str(caught.value)


def test_rds_reboot_needs_multi_az_and_a_reboot_that_fails_nothing_is_not_green(mariadb_factory, rds,
                                                                                tmp_path: Path) -> None:
    for name, multi_az in (("single", False), ("multi", True)):
        rds.create_db_instance(DBInstanceIdentifier=name, Engine="mariadb", EngineVersion="10.11.8",
                               DBInstanceClass="db.m6g.large",
                               MasterUsername="admin", MasterUserPassword="not-a-real-secret", AllocatedStorage=20,
                               MultiAZ=multi_az)
    servers, single = _endpoint(mariadb_factory, tmp_path, fault="rds_reboot", db_instance_id="single")
    with pytest.raises(DrillFailed) as caught:
        _path(single, servers, tmp_path).preflight()
    assert [f.code for f in caught.value.findings] == ["CONFIG_INVALID"] and "not Multi-AZ" in str(caught.value)
    multi = dataclasses.replace(single, failover_drill=dataclasses.replace(single.failover_drill, db_instance_id="multi"))
    fault = _path(multi, servers, tmp_path).fault({})
    plan = managed.preflight(multi, servers.primary, fault)  # Multi-AZ and available: quiet
    injected = inject(fault)  # moto accepts the reboot and changes nothing
    with pytest.raises(DrdrillError, match="showed a failover"):
        managed.detect(servers.primary, fault, plan, injected, 3)
