"""Session fixtures: a real sandbox (mariadbd primary + replica, moto S3, Slack sink) and an Airflow home.

Airflow reads its settings when first imported, so the Airflow environment is set here, at import.
A server that cannot start makes the tests that need it fail (the fixture raises); nothing is skipped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


pytest_plugins = ["tests.helpers.server_fixtures",  # real MariaDB servers for integration and system tests
                  "tests.helpers.cluster"]  # the two-worker Celery cluster for tests marked cluster

ROOT = Path(__file__).resolve().parents[1]
SESSION_DIR = Path(tempfile.mkdtemp(prefix="drdrill-tests-"))
TEST_ROWS = 20_000


def _free_port_base(start: int = 20000, stop: int = 32000, width: int = 5) -> int:
    """A base port with ``width`` consecutive free ports above it, below the kernel's ephemeral range."""
    import random

    for _ in range(200):
        base = random.randrange(start, stop, 10)
        if all(_port_free(base + offset) for offset in range(1, width)):
            return base
    raise RuntimeError("no free port range found for the test sandbox")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


PORT_BASE = _free_port_base()
os.environ.update({
    "AIRFLOW_HOME": str(SESSION_DIR / "airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "DRDRILL_CONFIG": str(SESSION_DIR / "drills.yaml"),
})

TEST_CONFIG = """
settings:
  history_url: sqlite:///{dir}/history.sqlite
  work_dir: {dir}/work
targets:
  - name: shop
    description: test sandbox shop
    source_conn_id: drdrill_shop_primary
    replica_conn_id: drdrill_shop_replica
    databases: [shop]
    engine: mariadb-dump
    engine_options: {{parallel: 2, compression_level: 3}}
    storage: {{conn_id: drdrill_s3, bucket: drdrill-backups, prefix: tests}}
    schedules: {{backup: null}}
    objectives: {{rto: 30m, rpo: 15m}}
    retention: {{keep_backups: 3}}
    notify: {{slack_conn_id: drdrill_slack, on_success: false}}
    tags: [test]
    heartbeat: {{table: shop.heartbeat, column: beat_at}}
    restore_drill: {{after_backup: false, max_backup_age: 1d}}
    allow_failover_drill: true
    failover_drill: {{canary_conn_id: drdrill_shop_canary, replication_conn_id: drdrill_shop_replication, max_replica_lag: 10s}}
"""
(SESSION_DIR / "drills.yaml").write_text(TEST_CONFIG.format(dir=SESSION_DIR))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Delete the session directory (Airflow home, config, history) once the session is over."""
    import shutil

    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@dataclass
class SandboxHandle:
    """The running test sandbox and what tests need from it."""

    sandbox: object
    config_path: Path
    history_url: str

    def connection_env(self, **overrides: dict[str, object]) -> dict[str, str]:
        """AIRFLOW_CONN_* variables for the sandbox connections (with per-test overrides)."""
        connections = self.sandbox.airflow_connections()  # type: ignore[attr-defined]
        connections.update(overrides)
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(value) for conn_id, value in connections.items()}


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    """Start the real sandbox once per session (small data set) and set the connections as env vars."""
    from drdrill.sandbox.stack import Sandbox

    box = Sandbox(directory=SESSION_DIR / "sandbox", port_base=PORT_BASE)
    try:
        box.up(rows=TEST_ROWS, airflow=False)
        handle = SandboxHandle(box, SESSION_DIR / "drills.yaml", f"sqlite:///{SESSION_DIR}/history.sqlite")
        os.environ.update(handle.connection_env())
        yield handle
    finally:
        box.down(purge=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised Airflow metadata DB (SQLite) in the session directory."""
    done = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
                          capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, f"airflow db migrate failed:\n{done.stderr[-3000:]}"
    return Path(os.environ["AIRFLOW_HOME"])


@dataclass(frozen=True)
class MotoS3:
    """A running moto S3 server: its URL and a boto3 client on it (credentials ``testing``/``testing``)."""

    url: str
    client: Any

    def connection(self) -> dict[str, Any]:
        """The Airflow ``aws`` connection (as JSON-ready dict) that reaches this server."""
        return {"conn_type": "aws", "login": "testing", "password": "testing",
                "extra": {"endpoint_url": self.url, "region_name": "us-east-1"}}


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """A moto S3 server on a free port for one test module, stopped afterwards."""
    import boto3

    from tests.helpers.moto_iam import moto_server

    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield MotoS3(url, boto3.client("s3", endpoint_url=url, aws_access_key_id="testing",
                                       aws_secret_access_key="testing", region_name="us-east-1"))
