"""check_connections: exactly the missing Airflow connections, each with how to create it."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.config import check_connections, load_config

from .drills_files import TARGET, two_targets, with_target_lines, write

pytestmark = pytest.mark.unit


@pytest.mark.unit
def test_check_connections_reports_exactly_the_missing_ids(tmp_path: Path) -> None:
    config = two_targets(tmp_path)
    existing = {"shop_primary", "drdrill_s3"}
    asked: list[str] = []

    def exists(conn_id: str) -> bool:
        asked.append(conn_id)
        return conn_id in existing

    problems = check_connections(config, exists)

    assert [problem.key for problem in problems] == [
        "targets[shop].replica_conn_id",
        "targets[shop].notify.slack_conn_id",
        "targets[billing].source_conn_id",
    ]
    for problem, conn_id in zip(problems, ["shop_replica", "drdrill_slack", "billing_primary"], strict=True):
        assert f"Airflow connection {conn_id!r} does not exist." in str(problem)
    assert sorted(asked) == sorted(set(asked))  # each id looked up once
    for problem in problems:
        assert "drills.yaml" in str(problem)
    replica_fix = problems[0].fix or ""
    assert "airflow connections add shop_replica --conn-type mysql" in replica_fix
    assert "AIRFLOW_CONN_SHOP_REPLICA" in replica_fix
    assert "--conn-type slack" in (problems[1].fix or "")


@pytest.mark.unit
def test_check_connections_all_present(tmp_path: Path) -> None:
    assert check_connections(two_targets(tmp_path), lambda conn_id: True) == []


def test_a_managed_fault_s_missing_aws_connection_is_reported(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "allow_failover_drill: true", "failover_drill: {canary_conn_id: c, "
                             "fault: aurora_failover, db_cluster_id: shop-cluster, aws_conn_id: shop_aws}")
    config = load_config(path)
    assert "shop_aws" in config.targets[0].connection_ids()
    problems = check_connections(config, lambda conn_id: conn_id != "shop_aws")
    assert [problem.key for problem in problems] == ["targets[shop].failover_drill.aws_conn_id"]
    assert "--conn-type aws" in (problems[0].fix or "")
    assert check_connections(config, lambda conn_id: True) == []


def test_the_manifest_signing_connection_is_optional_inherited_and_checked(tmp_path: Path) -> None:
    assert load_config(with_target_lines(tmp_path)).targets[0].storage.manifest_signing_conn_id is None
    path = with_target_lines(tmp_path, target=TARGET.replace("prefix: drdrill}",
                                                             "prefix: drdrill, manifest_signing_conn_id: shop_key}"))
    config = load_config(path)
    assert config.targets[0].connections()["storage.manifest_signing_conn_id"] == "shop_key"
    problems = check_connections(config, lambda conn_id: conn_id != "shop_key")
    assert [problem.key for problem in problems] == ["targets[shop].storage.manifest_signing_conn_id"]
    fix = problems[0].fix or ""
    assert "airflow connections add shop_key --conn-type generic --conn-password KEY" in fix
    assert "AIRFLOW_CONN_SHOP_KEY='generic://:KEY@'" in fix and "openssl rand" in fix
    inherited = load_config(write(tmp_path, "defaults:\n  storage: {manifest_signing_conn_id: all_key}\ntargets:\n" + TARGET))
    assert inherited.targets[0].storage.manifest_signing_conn_id == "all_key"
    assert inherited.targets[0].storage.bucket == "drdrill-backups"
