"""Replication topology facts that need no server: which primary a replica follows, which link options travel."""

from __future__ import annotations

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.servers.replication import link_options
from drdrill.servers.topology import ServerState, portable_link

pytestmark = pytest.mark.unit


def _state(server_id: int, replicating_from: str | None = None, master_server_id: int = 0, *,
           binlog: str = "", slave: str = "") -> ServerState:
    return ServerState(server_id=server_id, read_only=replicating_from is not None, gtid_binlog_pos=binlog,
                       gtid_slave_pos=slave, gtid_io_pos="", replicating_from=replicating_from, io_running=None,
                       sql_running=None, seconds_behind=None, last_io_error="", last_sql_error="",
                       master_server_id=master_server_id)


def test_a_replica_is_matched_to_its_primary_by_server_id_not_by_a_shared_port() -> None:
    primary, elsewhere = _state(1), _state(7)
    address = MySQLEndpoint("db-a.internal", 3306, "drill", "secret")
    replica = _state(2, "10.0.0.9:3306", master_server_id=1)  # the primary by another name
    assert replica.replicates_from(primary, address)
    assert not replica.replicates_from(elsewhere, address)  # same port 3306, another server
    never_connected = _state(2, "10.0.0.9:3306")
    assert never_connected.replicates_from(primary, address)  # before the IO thread connected: the port
    assert not _state(2, "10.0.0.9:3307").replicates_from(primary, address)


def test_a_server_that_wrote_beyond_what_it_replicated_took_writes_as_a_primary() -> None:
    assert _state(2, binlog="0-1-10,0-2-1", slave="0-1-10").wrote_beyond_replication is False  # same domain, seq 10
    assert _state(2, binlog="0-1-10,1-2-1", slave="0-1-10").wrote_beyond_replication is True
    assert _state(2, binlog="0-1-10", slave="0-1-10").wrote_beyond_replication is False
    assert _state(1).is_replica is False and _state(2, "h:1").is_replica is True


def test_only_the_link_options_that_mean_the_same_on_another_host_travel() -> None:
    row = {"Master_SSL_Allowed": "Yes", "Master_SSL_CA_File": "/etc/mysql/ca.pem", "Master_SSL_CA_Path": "",
           "Master_SSL_Cert": "", "Master_SSL_Key": "", "Master_SSL_Cipher": "", "Master_SSL_Crl": "",
           "Master_SSL_Crlpath": "", "Master_SSL_Verify_Server_Cert": "Yes", "Connect_Retry": 60}
    link = link_options(row)
    assert link == {"MASTER_SSL": 1, "MASTER_SSL_CA": "/etc/mysql/ca.pem", "MASTER_SSL_VERIFY_SERVER_CERT": 1,
                    "MASTER_CONNECT_RETRY": 60}
    assert portable_link(link) == {"MASTER_SSL": 1, "MASTER_CONNECT_RETRY": 60}
    assert portable_link({}) == {}  # not a replica
