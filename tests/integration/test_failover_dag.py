"""The failover DAG through Airflow (dag.test) on the session sandbox: kill, promote, measure, fail back, go on."""

from __future__ import annotations

import contextlib
import importlib.util
import json
from pathlib import Path

import pytest

from drdrill.airflow.connections import import_connections
from drdrill.history import list_drills
from drdrill.sandbox.slack_sink import read_posts
from drdrill.servers.replication import replication_status

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PRIMARY_CONN = "drdrill_shop_primary"


def _dag(filename: str, module: str):
    spec = importlib.util.spec_from_file_location(module, ROOT / "dags" / filename)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded.DAGS["shop"]


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


@pytest.fixture
def metastore_primary_connection(sandbox, airflow_db, monkeypatch):
    """The source connection in the metastore (the redirect changes it there), not in the environment."""
    monkeypatch.delenv(f"AIRFLOW_CONN_{PRIMARY_CONN.upper()}")
    import_connections({PRIMARY_CONN: sandbox.sandbox.airflow_connections()[PRIMARY_CONN]})
    return sandbox


def _connection_port(conn_id: str) -> int:
    from airflow.models.connection import Connection

    return int(Connection.get_connection_from_secrets(conn_id).port)


def test_failover_dag_kills_promotes_fails_back_and_other_drills_still_work(metastore_primary_connection) -> None:
    box = metastore_primary_connection.sandbox
    history = metastore_primary_connection.history_url
    pid_before = box.primary.pid()

    dag_run = _dag("dr_failover_drill.py", "dagfile_failover_ok").test()

    assert str(dag_run.state) == "success", states(dag_run)
    record = list_drills(history, "shop", "failover", limit=1)[0]
    assert record.verdict == "passed", record.findings
    assert 0 < record.rto_seconds < 60
    measured = record.details["measured"]
    assert measured["detection_seconds"] is not None and measured["promotion_seconds"] < 10
    assert measured["lost"]["canary_acked_by_old_primary"] > 0
    assert box.primary.pid() != pid_before  # it was killed and started again
    with contextlib.closing(box.replica.root_connect()) as conn:
        status = replication_status(conn)
    assert status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes"
    assert int(status["Master_Port"]) == box.ports.primary
    assert _connection_port(PRIMARY_CONN) == box.ports.primary  # redirected and pointed back

    backup = _dag("dr_backup.py", "dagfile_backup_after_failover").test()
    assert str(backup.state) == "success", states(backup)


def test_failover_dag_whose_promotion_fails_restores_the_topology_and_alerts(metastore_primary_connection) -> None:
    box = metastore_primary_connection.sandbox
    posts_before = len(read_posts(box.slack_record))
    # A trigger on the replica only (not binlogged): replicated row events do not fire it, the promotion's write does.
    with contextlib.closing(box.replica.root_connect()) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute("CREATE TABLE IF NOT EXISTS shop.drdrill_canary (run_id VARCHAR(250) NOT NULL, seq BIGINT NOT NULL, "
                    "written_at DATETIME(6) NOT NULL, server_id INT UNSIGNED NOT NULL, PRIMARY KEY (run_id, seq))")
        cur.execute("CREATE TRIGGER shop.refuse_promotion BEFORE INSERT ON shop.drdrill_canary FOR EACH ROW "
                    "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'replica refuses writes'")
    try:
        dag_run = _dag("dr_failover_drill.py", "dagfile_failover_broken").test()
    finally:
        with contextlib.closing(box.replica.root_connect()) as conn, conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute("DROP TRIGGER IF EXISTS shop.refuse_promotion")

    assert str(dag_run.state) == "failed", states(dag_run)
    got = states(dag_run)
    assert got["promote"] == "failed" and got["cleanup"] == "success" and got["verify_consistency"] == "success", got
    record = list_drills(metastore_primary_connection.history_url, "shop", "failover", limit=1)[0]
    assert [f["code"] for f in record.findings] == ["PROMOTION_FAILED"]
    posts = read_posts(box.slack_record)[posts_before:]
    assert len(posts) == 1 and "PROMOTION_FAILED" in posts[0]["body"]["text"]
    assert box.secrets()["backup"] not in json.dumps(posts)
    with contextlib.closing(box.replica.root_connect()) as conn:
        status = replication_status(conn)
    assert status["Slave_SQL_Running"] == "Yes" and int(status["Master_Port"]) == box.ports.primary
