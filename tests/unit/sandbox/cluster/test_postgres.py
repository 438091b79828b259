"""``drdrill.sandbox.cluster.postgres``: the stack's own Postgres cluster, with no server started.

Starting, creating the databases and stopping are exercised by every cluster test (``tests/cluster``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.sandbox.cluster.postgres import SUPERUSER, LocalPostgres, postgres_bin_dir


@pytest.mark.unit
def test_the_url_goes_through_the_socket_with_no_password(tmp_path: Path) -> None:
    server = LocalPostgres(tmp_path / "pg", 24601)
    assert server.url("airflow") == f"postgresql+psycopg2://{SUPERUSER}@/airflow?host={tmp_path}/pg/run&port=24601"


@pytest.mark.unit
def test_not_initialised_means_not_running_and_stop_does_nothing(tmp_path: Path) -> None:
    server = LocalPostgres(tmp_path / "pg", 24601)
    assert server.pid() is None
    server.stop()


@pytest.mark.unit
def test_the_binaries_are_debians_newest() -> None:
    assert (postgres_bin_dir() / "pg_ctl").is_file()
