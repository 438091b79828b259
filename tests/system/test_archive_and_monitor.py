"""Binlog archiving and the RPO monitor through Airflow (dag.test) and as library steps, both directions."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.archive.monitor import sample_rpo
from drdrill.history import list_drills, list_rpo_samples
from drdrill.sandbox.slack_sink import read_posts
from tests.helpers.drill_helpers import run_steps, shop_target, store_for, write_on_source

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def load_dag(filename: str):
    spec = importlib.util.spec_from_file_location(f"dagfile_{Path(filename).stem}_it", ROOT / "dags" / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DAGS["shop"]


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def test_archive_dag_ships_binlogs_and_the_monitor_then_reports_a_small_lag(sandbox, airflow_db, tmp_path) -> None:
    run_steps(sandbox, shop_target(), tmp_path)  # a fresh valid backup, so only the archive is under test
    write_on_source(sandbox, 2)
    dag_run = load_dag("dr_binlog_archive.py").test()
    assert str(dag_run.state) == "success", states(dag_run)
    record = list_drills(sandbox.history_url, "shop", "binlog_archive", limit=1)[0]
    assert record.verdict == "passed" and record.details["chain"]["files"] >= 1

    monitor_run = load_dag("dr_rpo_monitor.py").test()
    assert str(monitor_run.state) == "success", states(monitor_run)
    sample = list_rpo_samples(sandbox.history_url, "shop", limit=1)[0]
    assert sample.archive_lag_seconds is not None and sample.archive_lag_seconds < sample.rpo_objective_seconds
    assert sample.findings == []


def test_a_binlog_purged_before_archiving_turns_the_archive_red_with_a_slack_alert(sandbox, airflow_db) -> None:
    archive_dag = load_dag("dr_binlog_archive.py")
    assert str(archive_dag.test().state) == "success"
    primary = sandbox.sandbox.primary
    with contextlib.closing(primary.root_connect()) as connection, connection.cursor() as cursor:
        for _ in range(2):
            write_on_source(sandbox, 1)
            cursor.execute("FLUSH BINARY LOGS")
        cursor.execute("SHOW MASTER STATUS")
        current = cursor.fetchone()[0]
        cursor.execute(f"PURGE BINARY LOGS TO '{current}'")  # the source drops files nobody archived
    before = len(read_posts(sandbox.sandbox.slack_record))

    dag_run = archive_dag.test()

    assert str(dag_run.state) == "failed", states(dag_run)
    record = list_drills(sandbox.history_url, "shop", "binlog_archive", limit=1)[0]
    assert record.verdict == "failed" and "BINLOG_GAP" in {f["code"] for f in record.findings}
    posts = read_posts(sandbox.sandbox.slack_record)[before:]
    assert len(posts) == 1 and "BINLOG_GAP" in posts[0]["body"]["text"]
    assert sandbox.sandbox.secrets()["backup"] not in json.dumps(posts)


def test_monitor_findings_fire_on_lag_and_stale_backups_and_stay_quiet_when_fresh(sandbox, tmp_path) -> None:
    run_steps(sandbox, shop_target(), tmp_path)  # a fresh valid backup
    load_dag("dr_binlog_archive.py").test()
    target = shop_target()
    source = sandbox.sandbox.backup_endpoint()
    store = store_for(sandbox, target)
    now = datetime.now(timezone.utc)

    fresh = sample_rpo(target, source, store, now=now, signing_key=None)
    assert fresh["findings"] == [], fresh

    write_on_source(sandbox, 1)  # something the archive does not hold yet
    strict = dataclasses.replace(target, objectives=dataclasses.replace(target.objectives, rpo=timedelta(seconds=1)))
    lagging = sample_rpo(strict, source, store, now=now + timedelta(minutes=5), signing_key=None)
    # five minutes ahead, the heartbeat looks stopped too
    assert [f["code"] for f in lagging["findings"]] == ["ARCHIVE_LAGGING", "HEARTBEAT_STOPPED"]
    assert lagging["archive_lag_seconds"] > 1

    stale = sample_rpo(target, source, store, now=now + timedelta(days=2), signing_key=None)
    assert "BACKUP_STALE" in {f["code"] for f in stale["findings"]}
