"""The backup DAG run through Airflow (dag.test): green on a healthy source, red with a Slack alert otherwise."""

from __future__ import annotations

import importlib.util
import json
import secrets
from pathlib import Path

import pytest

from drdrill.drills.layouts import layout_for
from drdrill.history import list_drills
from drdrill.sandbox.slack_sink import read_posts
from drdrill.storage.catalog import list_backups
from tests.helpers.drill_helpers import shop_target, store_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def backup_dag():
    """The shop backup DAG, generated from the test config by the real DAG file."""
    spec = importlib.util.spec_from_file_location("dagfile_dr_backup_it", ROOT / "dags" / "dr_backup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DAGS["shop"]


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def test_backup_dag_passes_records_history_lands_a_valid_backup_and_verifies_deep_or_by_checksums(sandbox, airflow_db, backup_dag) -> None:
    posts_before = len(read_posts(sandbox.sandbox.slack_record))
    dag_run = backup_dag.test(run_conf={"deep_verify": True})
    assert str(dag_run.state) == "success", states(dag_run)
    record = list_drills(sandbox.history_url, "shop", "backup", limit=1)[0]
    assert record.run_id == dag_run.run_id and record.verdict == "passed" and record.findings == []
    assert set(record.stage_seconds) == {"preflight", "dump_and_upload", "write_manifest", "verify", "retention"}
    assert (record.details["verify"]["kind"], record.details["verify"]["deep_reason"]) == (
        "deep", "a deep verify was asked for")
    assert record.details["verify"]["read_bytes"] > 0
    target = shop_target()
    entry = next(e for e in list_backups(store_for(sandbox, target), layout_for(target), signing_key=None) if e.backup_id == record.backup_id)
    assert entry.is_valid
    assert len(read_posts(sandbox.sandbox.slack_record)) == posts_before  # no success spam unless configured

    # a deep verify is within verify.deep_every (7d): this one checks S3's checksums (the form's value is given:
    # dag.test keeps the conf of the run before in the DAG's params)
    again = backup_dag.test(run_conf={"deep_verify": False})
    assert str(again.state) == "success", states(again)
    record = list_drills(sandbox.history_url, "shop", "backup", limit=1)[0]
    assert record.run_id == again.run_id and record.verdict == "passed"
    assert record.details["verify"] == {"kind": "attributes", "deep_reason": None, "read_bytes": 0,
                                        "copy": None,  # the target keeps no second copy (storage.copy)
                                        "seconds": record.details["verify"]["seconds"]}


def test_dry_run_only_runs_preflight(sandbox, airflow_db, backup_dag) -> None:
    target = shop_target()
    before = {e.backup_id for e in list_backups(store_for(sandbox, target), layout_for(target), signing_key=None)}
    dag_run = backup_dag.test(run_conf={"dry_run": True})
    assert str(dag_run.state) == "success", states(dag_run)
    assert states(dag_run)["dump_and_upload"] == "skipped"
    assert {e.backup_id for e in list_backups(store_for(sandbox, target), layout_for(target), signing_key=None)} == before
    record = list_drills(sandbox.history_url, "shop", "backup", limit=1)[0]
    assert record.run_id == dag_run.run_id and record.details["dry_run"] is True


def test_unreachable_source_turns_the_run_red_and_alerts_slack_without_secrets(sandbox, airflow_db, backup_dag,
                                                                               monkeypatch) -> None:
    wrong_password = "Wr0ng-" + secrets.token_hex(8)
    broken = dict(sandbox.sandbox.airflow_connections()["drdrill_shop_primary"], password=wrong_password)
    monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_SHOP_PRIMARY", json.dumps(broken))
    posts_before = len(read_posts(sandbox.sandbox.slack_record))

    dag_run = backup_dag.test()

    assert str(dag_run.state) == "failed", states(dag_run)
    assert states(dag_run)["preflight"] == "failed" and states(dag_run)["record"] == "failed"
    record = list_drills(sandbox.history_url, "shop", "backup", limit=1)[0]
    assert record.run_id == dag_run.run_id
    assert record.verdict == "could_not_verify"
    assert [f["code"] for f in record.findings] == ["TARGET_UNAVAILABLE"]

    posts = read_posts(sandbox.sandbox.slack_record)[posts_before:]
    assert len(posts) == 1, posts
    text = posts[0]["body"]["text"]
    for expected in ("shop", "backup", "preflight", "TARGET_UNAVAILABLE", "COULD NOT VERIFY", "Fix:", "Run: "):
        assert expected in text, text
    everything = json.dumps(posts)
    assert wrong_password not in everything
    assert sandbox.sandbox.secrets()["backup"] not in everything
