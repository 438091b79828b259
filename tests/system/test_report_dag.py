"""dr_report through Airflow (``dag.test``): the HTML page and the JSON land in S3 under the defaults' prefix and the
Slack summary with the report's link is posted (moto S3 and a local Slack sink; no database server is needed)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.history import DrillRecord, record_drill
from drdrill.sandbox.slack_sink import read_posts
from tests.helpers.slack_sink import running_slack_sink

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
settings: {{history_url: "sqlite:///{dir}/history.sqlite", work_dir: "{dir}/work"}}
defaults:
  storage: {{conn_id: report_s3, bucket: drdrill-reports, prefix: fleet}}
  notify: {{slack_conn_id: report_slack}}
  objectives: {{rto: 30m, rpo: 15m}}
  retention: {{keep_backups: 3}}
targets:
  - {{name: shop, source_conn_id: p, databases: [shop], restore_drill: {{max_backup_age: 1d}}}}
"""


@pytest.fixture
def slack_sink(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local Slack webhook: its URL and the file it records posts in."""
    record = tmp_path / "slack-posts.jsonl"
    with running_slack_sink(record) as url:
        yield f"{url}/services/report", record


def _history(url: str, now: datetime) -> None:
    """A fresh backup, a green restore, one over the RTO objective yesterday and one five days ago (out of 2 days)."""
    def record(drill: str, hours_ago: float, verdict: str = "passed", **values: object) -> None:
        start = now - timedelta(hours=hours_ago)
        record_drill(url, DrillRecord(f"scheduled__{drill}_{hours_ago}", "shop", drill, verdict, start.isoformat(),
                                      (start + timedelta(minutes=5)).isoformat(), **values))  # type: ignore[arg-type]

    record("backup", 2, backup_id="20261207T000000Z-aaaa")
    for hours_ago, rto in ((120, 2400.0), (24, 2100.0), (1, 300.0)):
        record("restore", hours_ago, "failed" if rto > 1800 else "passed", rto_seconds=rto, rto_objective_seconds=1800.0)


def test_dr_report_stores_the_page_and_the_json_and_posts_the_summary_with_the_link(
        airflow_db: Path, moto_s3, slack_sink: tuple[str, Path], tmp_path: Path,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    webhook, posts = slack_sink
    config = tmp_path / "drills.yaml"
    config.write_text(CONFIG.format(dir=tmp_path))
    monkeypatch.setenv("DRDRILL_CONFIG", str(config))
    monkeypatch.setenv("AIRFLOW_CONN_REPORT_S3", json.dumps(moto_s3.connection()))
    monkeypatch.setenv("AIRFLOW_CONN_REPORT_SLACK", json.dumps({"conn_type": "slackwebhook", "password": webhook}))
    moto_s3.client.create_bucket(Bucket="drdrill-reports")
    _history(f"sqlite:///{tmp_path}/history.sqlite", datetime.now(timezone.utc))
    spec = importlib.util.spec_from_file_location("dagfile_dr_report_it", ROOT / "dags" / "dr_report.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    dag = module.DAGS["dr_report"]

    dag_run = dag.test(run_conf={"days": 2})

    assert str(dag_run.state) == "success", {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    listed = moto_s3.client.list_objects_v2(Bucket="drdrill-reports", Prefix="fleet/reports/")["Contents"]
    keys = sorted(item["Key"] for item in listed)
    assert [key.rsplit("/", 1)[1] for key in keys] == ["report.html", "report.json"]
    body = {key.rsplit("/", 1)[1]: moto_s3.client.get_object(Bucket="drdrill-reports", Key=key)["Body"].read()
            for key in keys}
    report = json.loads(body["report.json"])
    assert report["period"]["days"] == 2 and keys[0] == f"fleet/reports/{report['period']['label']}/report.html"
    (shop,) = report["targets"]
    assert [breach["seconds"] for breach in shop["breaches"]] == [2100.0]  # five days ago is outside the period
    assert shop["backup"]["stale"] is False and report["fleet"]["drills_run"] == 3
    page = body["report.html"].decode()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 3 and "<script" not in page
    (post,) = read_posts(posts)
    text = post["body"]["text"]
    assert text.startswith(":red_circle: drdrill DR report, 2 days") and "1 objective breach(es)" in text
    assert f"Report: s3://drdrill-reports/{keys[0]}" in text and "RTO 35m > 30m" in text
