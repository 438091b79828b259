"""The drill's logins on both servers: the canary's login on each, moved to preflight's addresses."""

from __future__ import annotations

import pytest

from drdrill.drills.failover.logins import failover_servers
from drdrill.endpoints import MySQLEndpoint

pytestmark = pytest.mark.unit


def test_the_canary_logs_in_to_each_server_with_its_own_login_in_the_target_database() -> None:
    servers = failover_servers(MySQLEndpoint("db1", 3306, "drill", "a"), MySQLEndpoint("db2", 3307, "drill", "a"),
                               MySQLEndpoint("ignored", 1, "canary", "c"), "shop")
    assert (servers.canary_primary.host, servers.canary_primary.port, servers.canary_primary.user) == ("db1", 3306, "canary")
    assert (servers.canary_replica.host, servers.canary_replica.database) == ("db2", "shop")
    assert servers.replication_login == servers.primary  # no replication login: the drill's own


def test_the_logins_move_to_where_preflight_found_the_servers() -> None:
    replication = MySQLEndpoint("x", 1, "repl", "r")
    servers = failover_servers(MySQLEndpoint("db2", 3307, "drill", "a"), MySQLEndpoint("db2", 3307, "drill", "a"),
                               MySQLEndpoint("x", 1, "canary", "c"), "shop", replication)
    found = {"primary": {"host": "db1", "port": 3306}, "replica": {"host": "db2", "port": 3307}}
    moved = servers.at(found)  # after the redirect the source connection points at the replica
    assert moved.addresses() == found
    assert (moved.primary.user, moved.canary_primary.host, moved.canary_primary.user) == ("drill", "db1", "canary")
    assert moved.replication_login == replication
