"""``drdrill.servers.replication``: the pure parts of GTID replication.

Attaching a replica, waiting for its threads and for it to catch up need live servers: see
``tests/integration/test_servers.py`` (a replica that receives rows, a wrong password that fails fast unleaked).
"""

from __future__ import annotations

import pytest

from drdrill.servers.replication import LINK_OPTIONS, _redact, link_options

pytestmark = pytest.mark.unit

PLAIN_REPLICA = {  # SHOW SLAVE STATUS of a replica without TLS, as PyMySQL's DictCursor returns it
    "Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Master_Host": "127.0.0.1", "Master_Port": 3307,
    "Connect_Retry": 1, "Master_SSL_Allowed": "No", "Master_SSL_CA_File": "", "Master_SSL_CA_Path": "",
    "Master_SSL_Cert": "", "Master_SSL_Cipher": "", "Master_SSL_Key": "", "Master_SSL_Verify_Server_Cert": "No",
    "Master_SSL_Crl": "", "Master_SSL_Crlpath": "",
}


def test_a_plain_link_keeps_its_retry_and_says_tls_is_off() -> None:
    assert link_options(PLAIN_REPLICA) == {"MASTER_SSL": 0, "MASTER_SSL_VERIFY_SERVER_CERT": 0,
                                           "MASTER_CONNECT_RETRY": 1}


def test_a_tls_link_keeps_every_tls_setting() -> None:
    status = {**PLAIN_REPLICA, "Master_SSL_Allowed": "Yes", "Master_SSL_Verify_Server_Cert": "Yes",
              "Master_SSL_CA_File": "/etc/mysql/ca.pem", "Master_SSL_Cert": "/etc/mysql/client.pem",
              "Master_SSL_Key": "/etc/mysql/client.key", "Master_SSL_Cipher": "TLS_AES_256_GCM_SHA384",
              "Connect_Retry": "60"}
    assert link_options(status) == {
        "MASTER_SSL": 1, "MASTER_SSL_CA": "/etc/mysql/ca.pem", "MASTER_SSL_CERT": "/etc/mysql/client.pem",
        "MASTER_SSL_KEY": "/etc/mysql/client.key", "MASTER_SSL_CIPHER": "TLS_AES_256_GCM_SHA384",
        "MASTER_SSL_VERIFY_SERVER_CERT": 1, "MASTER_CONNECT_RETRY": 60}


def test_a_server_that_is_no_replica_has_no_link_options() -> None:
    assert link_options({}) == {}


def test_every_link_option_is_a_change_master_option_read_from_its_own_column() -> None:
    assert all(name.startswith("MASTER_") for name in LINK_OPTIONS)
    assert len(set(LINK_OPTIONS.values())) == len(LINK_OPTIONS)


def test_redact_replaces_the_password_and_its_escaped_form() -> None:
    message = "Access denied near 'it\\'s-secret' for password it's-secret"
    assert _redact(message, "it's-secret", "it\\'s-secret") == "Access denied near '***' for password ***"
    assert _redact("nothing to hide", "", "pw") == "nothing to hide"
