"""The failover DAG through Airflow (``airflow dags test``, as make demo runs it) on the session sandbox.

A separate Airflow process, as in production: in this pytest process, Airflow imported before the sandbox
fixture ran made dag.test() miss connections that live only in the metastore (cause not found).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drdrill.history import list_drills
from drdrill.sandbox.slack_sink import read_posts
from tests.helpers.failover_helpers import (
    assert_fail_back_reported_once,
    assert_put_back,
    config_locking_replication_on_redirect,
    finished_state,
    promotion_refused,
    run_dag,
    switch_back_by_hand,
)

pytestmark = pytest.mark.integration


def test_failover_dag_kills_promotes_fails_back_and_other_drills_still_work(metastore_primary_connection) -> None:
    box = metastore_primary_connection.sandbox
    history = metastore_primary_connection.history_url
    pid_before = box.primary.pid()

    done = run_dag("dr_failover_drill__shop")

    assert finished_state(done) == "success", done.stdout[-3000:] + done.stderr[-3000:]
    record = list_drills(history, "shop", "failover", limit=1)[0]
    assert record.verdict == "passed", record.findings
    assert 0 < record.rto_seconds < record.rto_objective_seconds
    assert {"preflight", "inject_fault", "detect", "promote", "fail_back", "verify_consistency"} <= set(record.stage_seconds)
    assert "transaction(s)" in record.details["headline"] and "canary row(s)" in record.details["headline"]
    assert "roles after: original" in record.details["headline"]
    measured = record.details["measured"]
    assert measured["detection_seconds"] is not None and measured["promotion_seconds"] <= record.rto_seconds
    assert measured["lost"]["canary_acked_by_old_primary"] > 0
    assert box.primary.pid() != pid_before  # it was killed and started again
    assert_put_back(box)  # the connection was redirected and pointed back

    backup = run_dag("dr_backup__shop")
    assert finished_state(backup) == "success", backup.stdout[-3000:] + backup.stderr[-3000:]
    assert list_drills(history, "shop", "backup", limit=1)[0].verdict == "passed"


def test_failover_dag_whose_promotion_fails_restores_the_topology_and_alerts(metastore_primary_connection) -> None:
    box = metastore_primary_connection.sandbox
    posts_before = len(read_posts(box.slack_record))
    with promotion_refused(box):
        done = run_dag("dr_failover_drill__shop")

    assert finished_state(done) == "failed", done.stdout[-3000:]
    record = list_drills(metastore_primary_connection.history_url, "shop", "failover", limit=1)[0]
    assert [f["code"] for f in record.findings] == ["PROMOTION_FAILED"]  # cleanup and verify_consistency found nothing
    assert record.details["failed_steps"] == ["promote"]
    assert record.details["fail_back"]["roles"] == "original"  # the cleanup teardown put it back
    posts = read_posts(box.slack_record)[posts_before:]
    assert len(posts) == 1 and "PROMOTION_FAILED" in posts[0]["body"]["text"]
    assert box.secrets()["backup"] not in json.dumps(posts)
    assert_put_back(box)


def test_failover_dag_whose_fail_back_cannot_work_reports_it_once_and_alerts(metastore_primary_connection,
                                                                             tmp_path: Path) -> None:
    box = metastore_primary_connection.sandbox
    posts_before = len(read_posts(box.slack_record))
    try:
        done = run_dag("dr_failover_drill__shop", config_locking_replication_on_redirect(box, tmp_path))

        assert finished_state(done) == "failed", done.stdout[-3000:]
        record = list_drills(metastore_primary_connection.history_url, "shop", "failover", limit=1)[0]
        assert_fail_back_reported_once(record, box)  # the teardown read fail_back's findings and left it alone
        posts = read_posts(box.slack_record)[posts_before:]
        assert len(posts) == 1 and "FAILBACK_FAILED" in posts[0]["body"]["text"]
    finally:
        switch_back_by_hand(box)
    assert_put_back(box)
