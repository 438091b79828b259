"""Failover drill logic that needs no server: privilege parsing, GTID arithmetic, lost-transaction parsing."""

from __future__ import annotations

import pytest

from drdrill.config import FailoverDrill
from drdrill.drills.failover import global_privileges
from drdrill.endpoints import MySQLEndpoint
from drdrill.failover.errant import parse_transactions
from drdrill.failover.faults import KillFault
from drdrill.failover.topology import ServerState, portable_link, transactions_behind
from drdrill.servers.replication import link_options

pytestmark = pytest.mark.unit


def test_privileges_are_read_exactly_and_only_on_star_dot_star() -> None:
    held = global_privileges([
        "GRANT REPLICATION SLAVE ADMIN, CREATE USER, DELETE HISTORY ON *.* TO `drill`@`%`",
        "GRANT INSERT, UPDATE ON `shop`.* TO `drill`@`%`",
    ])
    assert held == {"REPLICATION SLAVE ADMIN", "CREATE USER", "DELETE HISTORY"}
    assert "REPLICATION SLAVE" not in held and "CREATE" not in held and "DELETE" not in held


def test_transactions_behind_counts_per_domain() -> None:
    assert transactions_behind("0-1-10,1-1-3", "0-1-7") == 6
    assert transactions_behind("0-1-10", "0-2-12") == 0
    assert transactions_behind("", "0-1-1") == 0


def test_lost_transactions_are_parsed_with_time_size_and_tables() -> None:
    lines = [
        b"# at 400\n",
        b"#261121 10:00:01 server id 1  end_log_pos 442 CRC32 0x1\tGTID 0-1-9 trans\n",
        b"# at 442\n",
        b"#261121 10:00:01 server id 1  end_log_pos 500 CRC32 0x2 \tTable_map: `drill`.`items` mapped to number 30\n",
        b"# at 500\n",
        b"#261121 10:00:01 server id 1  end_log_pos 9400 CRC32 0x3 \tWrite_rows: table id 30 flags: STMT_END_F\n",
        b"# at 9400\n",
        b"#261121 10:00:01 server id 1  end_log_pos 9431 CRC32 0x4 \tXid = 12\n",
        b"# at 9431\n",
        b"#261121  9:59:59 server id 1  end_log_pos 9473 CRC32 0x5\tGTID 0-1-10 trans\n",
        b"# at 9473\n",
        b"#261121  9:59:59 server id 1  end_log_pos 9504 CRC32 0x6 \tXid = 13\n",
    ]
    first, second = parse_transactions(lines)
    assert (first.gtid, first.bytes, first.tables) == ("0-1-9", 9031, ["drill.items"])
    assert first.committed_at == "2026-11-21T10:00:01+00:00"
    assert (second.gtid, second.bytes, second.committed_at) == ("0-1-10", 73, "2026-11-21T09:59:59+00:00")


def _state(server_id: int, replicating_from: str | None = None, master_server_id: int = 0) -> ServerState:
    return ServerState(server_id=server_id, read_only=replicating_from is not None, gtid_binlog_pos="", gtid_slave_pos="",
                       gtid_io_pos="", replicating_from=replicating_from, io_running=None, sql_running=None,
                       seconds_behind=None, last_io_error="", last_sql_error="", master_server_id=master_server_id)


def test_a_replica_is_matched_to_its_primary_by_server_id_not_by_a_shared_port() -> None:
    primary, elsewhere = _state(1), _state(7)
    address = MySQLEndpoint("db-a.internal", 3306, "drill", "secret")
    replica = _state(2, "10.0.0.9:3306", master_server_id=1)  # the primary by another name
    assert replica.replicates_from(primary, address)
    assert not replica.replicates_from(elsewhere, address)  # same port 3306, another server
    never_connected = _state(2, "10.0.0.9:3306")
    assert never_connected.replicates_from(primary, address)  # before the IO thread connected: the port
    assert not _state(2, "10.0.0.9:3307").replicates_from(primary, address)


def test_a_replication_link_is_read_from_slave_status_and_only_host_free_options_travel() -> None:
    row = {"Master_SSL_Allowed": "Yes", "Master_SSL_CA_File": "/etc/mysql/ca.pem", "Master_SSL_CA_Path": "",
           "Master_SSL_Cert": "", "Master_SSL_Key": "", "Master_SSL_Cipher": "", "Master_SSL_Crl": "",
           "Master_SSL_Crlpath": "", "Master_SSL_Verify_Server_Cert": "Yes", "Connect_Retry": 60}
    link = link_options(row)
    assert link == {"MASTER_SSL": 1, "MASTER_SSL_CA": "/etc/mysql/ca.pem", "MASTER_SSL_VERIFY_SERVER_CERT": 1,
                    "MASTER_CONNECT_RETRY": 60}
    assert portable_link(link) == {"MASTER_SSL": 1, "MASTER_CONNECT_RETRY": 60}
    assert link_options({**row, "Master_SSL_Allowed": "No", "Master_SSL_Verify_Server_Cert": "No"})["MASTER_SSL"] == 0
    assert link_options({}) == {}  # not a replica


def test_the_kill_fault_names_its_process_without_the_servers_other_options(tmp_path) -> None:
    argv = ["/usr/sbin/mariadbd", "--defaults-file=/etc/mysql/db1.cnf", "--ssl-key=/etc/mysql/private/db1.key",
            "--datadir=/var/lib/mysql", "--read-only=ON"]
    fault = KillFault(FailoverDrill(canary_conn_id="c"), MySQLEndpoint("db1", 3306, "drill"),
                      {"pid": 4242, "argv": argv, "hostname": "db1"}, tmp_path)
    assert fault.describe() == ("kill -9 of mariadbd pid 4242 (/usr/sbin/mariadbd --defaults-file=/etc/mysql/db1.cnf "
                                "--datadir=/var/lib/mysql) serving db1:3306 on db1")
