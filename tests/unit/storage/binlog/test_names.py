"""Binlog file names and server keys: a server key is stable per server and changes with its address or datadir."""

from __future__ import annotations

import pytest

from drdrill.servers.identity import ServerIdentity
from drdrill.storage.binlog.names import binlog_name, describe_files, server_key, split_binlog_name

pytestmark = pytest.mark.unit


def identity(**changes: object) -> ServerIdentity:
    values: dict[str, object] = {"server_id": 1, "hostname": "db1", "port": 3306, "datadir": "/var/lib/mysql/",
                                 "version": "10.11"}
    values.update(changes)
    return ServerIdentity(**values)  # type: ignore[arg-type]


def test_a_binlog_name_splits_and_joins_back() -> None:
    assert split_binlog_name("mysql-bin.000042") == ("mysql-bin", 42, 6)
    assert binlog_name("mysql-bin", 43, 6) == "mysql-bin.000043"
    assert split_binlog_name("host.name-bin.1234567") == ("host.name-bin", 1234567, 7)


@pytest.mark.parametrize("name", ["mysql-bin", "mysql-bin.index", "mysql-bin.", ".000001"])
def test_a_name_without_a_number_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not a binlog file name"):
        split_binlog_name(name)


def test_a_server_key_names_the_server_id_and_is_stable() -> None:
    key = server_key(identity())
    assert key.startswith("1-") and len(key) == 10 and key == server_key(identity(datadir="/var/lib/mysql"))


@pytest.mark.parametrize("changes", [{"hostname": "db2"}, {"port": 3307}, {"datadir": "/srv/mysql"}])
def test_another_server_gets_another_key(changes: dict[str, object]) -> None:
    assert server_key(identity(**changes)) != server_key(identity())


def test_files_are_described_one_or_as_a_range() -> None:
    assert describe_files(["a.000002"]) == "a.000002"
    assert describe_files(["a.000002", "a.000003", "a.000004"]) == "a.000002 … a.000004 (3 files)"
