"""The edge: the tasks module resolves the target's Airflow connections into logins and passes them down."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from drdrill.config import Target
from drdrill.drills.failover.tasks import resolve_connections

pytestmark = pytest.mark.unit


def _define(monkeypatch: pytest.MonkeyPatch, conn_id: str, host: str, port: int, login: str, password: str) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(
        {"conn_type": "mysql", "host": host, "port": port, "login": login, "password": password}))


def test_the_logins_come_from_the_connections_and_the_canary_logs_in_where_each_server_is(
        monkeypatch: pytest.MonkeyPatch, make_target: Callable[..., Target]) -> None:
    _define(monkeypatch, "fo_primary", "db1", 3306, "drill", "Admin-1")
    _define(monkeypatch, "fo_replica", "db2", 3307, "drill", "Admin-1")
    _define(monkeypatch, "fo_canary", "ignored", 1, "canary", "Canary-1")
    connections = resolve_connections(make_target())
    servers = connections.servers
    assert (servers.primary.host, servers.replica.port, servers.primary.password) == ("db1", 3307, "Admin-1")
    assert (servers.canary_replica.host, servers.canary_replica.user, servers.canary_replica.database) == \
        ("db2", "canary", "drill")
    assert servers.replication is None
    # defined by a variable: the redirect could not change it for other processes, and preflight says so
    assert connections.source_variable == "AIRFLOW_CONN_FO_PRIMARY"


def test_a_managed_target_logs_in_to_its_writer_endpoint_only(monkeypatch: pytest.MonkeyPatch,
                                                              make_target: Callable[..., Target]) -> None:
    _define(monkeypatch, "fo_primary", "shop.cluster-x.rds.amazonaws.com", 3306, "drill", "Admin-1")
    _define(monkeypatch, "fo_canary", "ignored", 1, "canary", "Canary-1")
    servers = resolve_connections(make_target(fault="aurora_failover", db_cluster_id="shop")).servers
    assert servers.replica == servers.primary and servers.canary_primary.host == "shop.cluster-x.rds.amazonaws.com"
