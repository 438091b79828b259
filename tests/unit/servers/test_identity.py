"""``drdrill.servers.identity``: one server is one host, datadir and port, whatever address reached it.

``read_identity`` asks a live server and runs in the integration tests (restore drill's safety interlock).
"""

from __future__ import annotations

import dataclasses

import pytest

from drdrill.servers.identity import ServerIdentity

pytestmark = pytest.mark.unit

PRIMARY = ServerIdentity(hostname="db1", port=3306, datadir="/var/lib/mysql/", server_id=1, version="10.11.19-MariaDB")


def test_the_same_server_reached_another_way_is_the_same_server() -> None:
    assert PRIMARY.same_server_as(dataclasses.replace(PRIMARY, datadir="/var/lib/mysql"))
    assert PRIMARY.same_server_as(dataclasses.replace(PRIMARY, server_id=99, version="10.11.20"))


@pytest.mark.parametrize("other", [
    dataclasses.replace(PRIMARY, hostname="db2"),
    dataclasses.replace(PRIMARY, port=3307),
    dataclasses.replace(PRIMARY, datadir="/var/lib/mysql-scratch/"),
], ids=["other_host", "other_port", "other_datadir"])
def test_another_host_port_or_datadir_is_another_server(other: ServerIdentity) -> None:
    assert not PRIMARY.same_server_as(other) and not other.same_server_as(PRIMARY)


def test_label_and_json_form() -> None:
    assert PRIMARY.label() == "db1:3306 /var/lib/mysql/ (server_id 1)"
    assert PRIMARY.to_dict() == {"hostname": "db1", "port": 3306, "datadir": "/var/lib/mysql/", "server_id": 1,
                                 "version": "10.11.19-MariaDB"}
    assert ServerIdentity(**PRIMARY.to_dict()) == PRIMARY
