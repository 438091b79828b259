"""``drdrill.engines.binlog_sql``: binlog SQL limited to the target's databases, and nothing else."""

from __future__ import annotations

import pytest

from drdrill.engines.binlog_sql import binlog_sql_command

pytestmark = pytest.mark.unit
BASE = ["mariadb-binlog", "--defaults-extra-file=/run/x.cnf", "--start-position=4"]


def test_one_database_is_one_pass() -> None:
    assert binlog_sql_command(BASE, ["shop"], ["a.000001"]) == [*BASE, "--database=shop", "a.000001"]


def test_several_databases_are_one_quoted_pass_each_in_one_shell() -> None:
    shell = binlog_sql_command(BASE, ["shop", "my db"], ["a.000001", "a.000002"])
    assert shell[:2] == ["bash", "-c"] and shell[2].startswith("set -e; ")
    assert "--database=shop a.000001 a.000002; " in shell[2] and "'--database=my db' a.000001 a.000002" in shell[2]


def test_no_database_is_refused() -> None:
    with pytest.raises(ValueError):
        binlog_sql_command(BASE, [], ["a.000001"])
