"""The managed failover path (Aurora, RDS reboot) through Airflow: ``airflow dags test`` on a managed target.

Real: the Airflow run in its own process (as make demo runs DAGs), the RDS API over HTTP (the sandbox's moto
server) through RdsHook and an Airflow ``aws`` connection, a MariaDB standing in for the writer endpoint, the
history database and the Slack post. Not real: moto has no database behind its clusters, so the endpoint never
goes away; detection comes from the service's state, and moto's RebootDBInstance changes nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from drdrill.history import list_drills
from drdrill.sandbox.slack_sink import read_posts
from tests.helpers.failover_helpers import ADMIN_PASSWORD, CANARY_PASSWORD, aurora_cluster, finished_state, managed_writer

pytestmark = pytest.mark.integration

MANAGED_CONFIG = """
settings:
  history_url: sqlite:///{dir}/history.sqlite
  work_dir: {dir}/work
targets:
  - name: {name}
    source_conn_id: {name}_writer
    databases: [drill]
    storage: {{conn_id: drdrill_s3, bucket: drdrill-backups, prefix: managed-dag-tests}}
    objectives: {{rto: 5m, rpo: 5m}}
    retention: {{keep_backups: 1}}
    notify: {{slack_conn_id: drdrill_slack, on_success: false}}
    allow_failover_drill: true
    failover_drill: {{fault: {fault}, {resource}, aws_conn_id: {name}_aws, canary_conn_id: {name}_canary,
                      detection_timeout: 5s, promotion_timeout: 20s}}
"""


@pytest.fixture
def rds(sandbox):
    """A boto3 RDS client on the sandbox's moto server (it serves every AWS API, not only S3)."""
    return boto3.client("rds", endpoint_url=sandbox.sandbox.s3_endpoint_url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", region_name="us-east-1")


def _managed_run(sandbox, mariadb_factory, tmp_path: Path, name: str, fault: str,
                 resource: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """``airflow dags test dr_failover_drill__<name>`` on a target whose writer endpoint is a real MariaDB."""
    writer = managed_writer(mariadb_factory)
    config = tmp_path / "drills.yaml"
    config.write_text(MANAGED_CONFIG.format(dir=tmp_path, name=name, fault=fault, resource=resource))
    login = {"conn_type": "mysql", "host": "127.0.0.1", "port": writer.spec.port}
    connections: dict[str, Any] = {
        f"{name}_writer": {**login, "login": "drill", "password": ADMIN_PASSWORD},
        f"{name}_canary": {**login, "login": "canary", "password": CANARY_PASSWORD, "schema": "drill"},
        f"{name}_aws": sandbox.sandbox.airflow_connections()["drdrill_s3"]}
    env = {**os.environ, "DRDRILL_CONFIG": str(config),
           **sandbox.connection_env(**connections)}
    done = subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "test", f"dr_failover_drill__{name}"],
                          capture_output=True, text=True, env=env, timeout=600)
    return done, f"sqlite:///{tmp_path}/history.sqlite"


def _writer(rds, cluster: str) -> str:
    described = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]["DBClusterMembers"]
    return next(member["DBInstanceIdentifier"] for member in described if member["IsClusterWriter"])


def test_aurora_failover_dag_fails_over_measures_and_fails_back(sandbox, airflow_db, mariadb_factory, rds,
                                                                 tmp_path: Path) -> None:
    cluster = f"aurora-{secrets.token_hex(3)}"
    writer, reader = aurora_cluster(rds, cluster)

    done, history = _managed_run(sandbox, mariadb_factory, tmp_path, "aurora", "aurora_failover",
                                 f"db_cluster_id: {cluster}")

    assert finished_state(done) == "success", done.stdout[-3000:] + done.stderr[-3000:]
    record = list_drills(history, "aurora", "failover", limit=1)[0]
    assert record.verdict == "passed", record.findings
    assert {"preflight", "inject_fault", "detect", "promote", "measure", "fail_back", "verify_consistency"} \
        <= set(record.stage_seconds)
    assert record.details["measured"]["detection_seconds"] is not None and 0 < record.rto_seconds < record.rto_objective_seconds
    assert record.details["fail_back"]["actions"][-1] == f"FailoverDBCluster back to {writer}"
    assert "lost 0 canary row(s) (transactions not counted by GTID)" in record.details["headline"]
    assert "roles after: original" in record.details["headline"]
    assert record.details["promotion"]["service"]["writer"] == reader  # AWS promoted the reader
    assert _writer(rds, cluster) == writer  # and the fail-back moved the writer home
    assert ADMIN_PASSWORD not in json.dumps(record.details) and CANARY_PASSWORD not in json.dumps(record.details)


def test_rds_reboot_dag_that_fails_nothing_over_is_red_and_alerts(sandbox, airflow_db, mariadb_factory, rds,
                                                                  tmp_path: Path) -> None:
    instance = f"rds-{secrets.token_hex(3)}"
    rds.create_db_instance(DBInstanceIdentifier=instance, Engine="mariadb", EngineVersion="10.11.8",
                           DBInstanceClass="db.m6g.large", MasterUsername="admin",
                           MasterUserPassword="not-a-real-secret", AllocatedStorage=20, MultiAZ=True)
    posts_before = len(read_posts(sandbox.sandbox.slack_record))

    done, history = _managed_run(sandbox, mariadb_factory, tmp_path, "rdsreboot", "rds_reboot",
                                 f"db_instance_id: {instance}")

    assert finished_state(done) == "failed", done.stdout[-3000:]
    record = list_drills(history, "rdsreboot", "failover", limit=1)[0]
    assert record.verdict == "could_not_verify"  # the drill could not break anything, so it proves nothing
    assert record.details["failed_steps"] == ["detect"]
    assert [f["code"] for f in record.findings] == ["COULD_NOT_VERIFY"]
    assert "showed a failover" in record.findings[0]["message"]
    posts = read_posts(sandbox.sandbox.slack_record)[posts_before:]
    assert len(posts) == 1 and "rdsreboot" in posts[0]["body"]["text"]
    assert ADMIN_PASSWORD not in json.dumps(posts) and CANARY_PASSWORD not in json.dumps(posts)
