"""Where the report goes (the defaults' storage and Slack connection, else the first target's), its two objects,
and the Slack summary: quiet and green for a healthy fleet, naming each problem of a broken one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.report.publish import report_destination, report_keys, store_report, summary_text
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.report_history import broken_history, healthy_history, report_config, report_of
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit
DEFAULTS = ("defaults:\n  storage: {conn_id: fleet_s3, bucket: drdrill-reports, prefix: fleet}\n"
            "  notify: {slack_conn_id: fleet_slack}\n")


def test_the_report_goes_where_the_defaults_say_else_where_the_first_target_goes(tmp_path: Path) -> None:
    first = report_destination(load_config(write_config(tmp_path)))
    assert (first.storage.conn_id, first.storage.bucket, first.storage.prefix, first.slack_conn_id) == (
        "drdrill_s3", "drdrill-backups", "tests", None)
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("targets:\n", DEFAULTS + "targets:\n", 1))
    chosen = report_destination(load_config(path))
    assert (chosen.storage.conn_id, chosen.storage.bucket, chosen.storage.prefix, chosen.slack_conn_id) == (
        "fleet_s3", "drdrill-reports", "fleet", "fleet_slack")


def test_both_objects_are_stored_under_the_period(tmp_path: Path) -> None:
    report = report_of(tmp_path, healthy_history)
    storage = report_destination(report_config(tmp_path)).storage
    store = MemoryObjectStore("drdrill-backups")
    links = store_report(store, storage, report, "<!doctype html>page")
    assert report_keys("tests", "P") == {"html": "tests/reports/P/report.html", "json": "tests/reports/P/report.json"}
    assert links == {"html": "s3://drdrill-backups/tests/reports/20261130T0000Z-20261207T0000Z/report.html",
                     "json": "s3://drdrill-backups/tests/reports/20261130T0000Z-20261207T0000Z/report.json"}
    keys = report_keys("tests", report["period"]["label"])
    assert json.loads(store.get_bytes(keys["json"]) or b"") == json.loads(json.dumps(report))
    assert store.get_bytes(keys["html"]) == b"<!doctype html>page"


def test_a_healthy_fleets_summary_is_one_green_line_and_the_links(tmp_path: Path) -> None:
    text = summary_text(report_of(tmp_path, healthy_history), {"html": "s3://b/r.html", "json": "s3://b/r.json"},
                        "http://airflow/dags/dr_report/runs/1")
    assert text.splitlines() == [
        ":large_green_circle: drdrill DR report, 7 days to 2026-12-07T00:00Z: 1 target(s), 6 drills, pass rate 100%, "
        "0 objective breach(es), 0 stale backup(s), 0 open finding(s), MTTR -.",
        "Report: s3://b/r.html (JSON: s3://b/r.json)", "Run: http://airflow/dags/dr_report/runs/1"]


def test_a_broken_fleets_summary_names_each_problem_of_the_target(tmp_path: Path) -> None:
    first, target = summary_text(report_of(tmp_path, broken_history)).splitlines()
    assert first.startswith(":red_circle:") and "1 objective breach(es), 1 stale backup(s), 2 open finding(s)" in first
    assert target == ("• *shop*: pass rate 50%; 1 objective breach(es): RTO 35m > 30m; backup stale (1d23h50m old, "
                      "allowed 1d); archive lag over the RPO in 1 sample(s); open findings: COULD_NOT_VERIFY, DUMP_FAILED")
