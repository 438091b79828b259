"""The restore drill through Airflow (``dag.test()``): it records RTO, RPO and stages, tears the scratch down,
and a red run alerts Slack once with the verdict, the codes and the objectives."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

from drdrill.airflow.rto_budget import NOT_UNDER_DAG_TEST
from drdrill.drills.layouts import layout_for
from drdrill.history import list_drills
from drdrill.sandbox.slack_sink import read_posts
from drdrill.servers.scratch import run_key
from drdrill.storage.lease import read_lease
from tests.helpers.drill_helpers import shop_target, store_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def restore_dag():
    spec = importlib.util.spec_from_file_location("dagfile_dr_restore_it", ROOT / "dags" / "dr_restore_drill.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DAGS["shop"]


def test_restore_dag_passes_through_airflow_and_tears_the_scratch_down(sandbox, airflow_db, restore_dag, fresh_backup,
                                                                       tmp_path) -> None:
    backup_id, _ = fresh_backup
    dag_run = restore_dag.test(run_conf={"backup": "backup_id", "backup_id": backup_id})
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states == dict.fromkeys(("select_backup", "recover", "measure", "record"), "success"), states
    record = list_drills(sandbox.history_url, "shop", "restore", limit=1)[0]
    assert record.run_id == dag_run.run_id and record.verdict == "passed" and record.backup_id == backup_id
    assert record.rto_seconds and record.rpo_seconds is not None
    assert {"fetch_and_verify", "provision_scratch", "restore", "validate"} <= set(record.stage_seconds)
    assert record.details["results_uri"].endswith("validation.json")
    assert restore_dag.deadline  # the DAG carries its RTO budget alert; dag.test() ran it without (no scheduler)
    budget = record.details["rto_budget"]
    assert (budget["armed"], budget["why"], budget["breached"]) == (False, NOT_UNDER_DAG_TEST, False), budget
    proof = json.loads(store_for(sandbox, shop_target()).get_bytes(f"tests/shop/full/{backup_id}/proof.json"))
    assert (proof["verdict"], proof["standing"], proof["run"]["run_id"]) == ("passed", "proven", dag_run.run_id)
    assert proof["run"]["airflow_run"].startswith("http") and "dr_restore_drill__shop" in proof["run"]["airflow_run"]
    from drdrill.config import load_config

    assert not list((load_config().settings.work_dir / "scratch").glob("*/mariadbd.pid"))
    assert read_lease(store_for(sandbox, shop_target()), layout_for(shop_target()), run_key(dag_run.run_id)) is None
    assert not (load_config().settings.work_dir / "restore" / run_key(dag_run.run_id)).exists()


def test_a_failed_provision_scratch_still_leaves_no_fetched_files(sandbox, airflow_db, restore_dag, fresh_backup,
                                                                  tmp_path, monkeypatch) -> None:
    """The recover task's teardown runs whatever failed in it: a failed provisioning leaves no fetched backup."""
    from drdrill.config import load_config
    from drdrill.ports import find_free_port

    backup_id, _ = fresh_backup
    config = tmp_path / "drills.yaml"
    config.write_text(sandbox.config_path.read_text().replace(
        "max_backup_age: 1d}", "max_backup_age: 1d, scratch_conn_id: kill_dead_scratch}"))
    monkeypatch.setenv("DRDRILL_CONFIG", str(config))
    monkeypatch.setenv("AIRFLOW_CONN_KILL_DEAD_SCRATCH", json.dumps(  # nothing listens there: provisioning fails
        {"conn_type": "mysql", "host": "127.0.0.1", "port": find_free_port(), "login": "x", "password": "y"}))
    assert "kill_dead_scratch" in config.read_text()

    dag_run = restore_dag.test(run_conf={"backup": "backup_id", "backup_id": backup_id})

    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert (states["recover"], states["record"]) == ("failed", "failed"), states
    record = list_drills(sandbox.history_url, "shop", "restore", limit=1)[0]
    assert record.details["failed_steps"] == ["provision_scratch"] and "fetch_and_verify" in record.stage_seconds
    assert not (load_config().settings.work_dir / "restore" / run_key(dag_run.run_id)).exists()


def test_restore_dag_red_run_alerts_slack_with_verdict_codes_and_objectives(sandbox, airflow_db, restore_dag,
                                                                           fresh_backup) -> None:
    backup_id, _ = fresh_backup
    before = len(read_posts(sandbox.sandbox.slack_record))
    dag_run = restore_dag.test(run_conf={"backup": "backup_id", "backup_id": backup_id, "rto_objective": "1s"})
    assert str(dag_run.state) == "failed"
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["recover"] == "success" and states["record"] == "failed", states
    posts = read_posts(sandbox.sandbox.slack_record)[before:]
    assert len(posts) == 1
    text = posts[0]["body"]["text"]
    for expected in ("restore", "shop", "FAILED", "RTO_EXCEEDED", "RTO:", "objective 1s", "RPO:", "Run: "):
        assert expected in text, text
    assert sandbox.sandbox.secrets()["backup"] not in json.dumps(posts)
    proof = json.loads(store_for(sandbox, shop_target()).get_bytes(f"tests/shop/full/{backup_id}/proof.json"))
    assert (proof["verdict"], proof["findings"]) == ("failed", ["RTO_EXCEEDED"])
    assert proof["standing"] == "proven"  # a slow drill still proved the backup it restored


def test_a_corrupt_backup_fails_before_any_scratch_yet_is_recorded_alerted_and_quarantined(
        sandbox, airflow_db, restore_dag, fresh_backup) -> None:
    from drdrill.drills.layouts import layout_for
    from drdrill.storage.catalog import QUARANTINED, list_backups

    backup_id, manifest = fresh_backup
    store = store_for(sandbox, shop_target())
    key = f"tests/shop/full/{backup_id}/{manifest.objects[0].name}"
    body = bytearray(store.get_bytes(key))
    body[200] ^= 0x04
    store.put_bytes(key, bytes(body))
    before = len(read_posts(sandbox.sandbox.slack_record))

    dag_run = restore_dag.test(run_conf={"backup": "backup_id", "backup_id": backup_id})

    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "failed" and states["record"] == "failed", states
    record = list_drills(sandbox.history_url, "shop", "restore", limit=1)[0]
    assert record.run_id == dag_run.run_id and record.verdict == "failed"
    assert [f["code"] for f in record.findings] == ["ARTEFACT_CORRUPT"]
    posts = read_posts(sandbox.sandbox.slack_record)[before:]
    assert len(posts) == 1 and "ARTEFACT_CORRUPT" in posts[0]["body"]["text"]
    assert "fetch_and_verify" in posts[0]["body"]["text"]
    entry = next(e for e in list_backups(store, layout_for(shop_target()), signing_key=None) if e.backup_id == backup_id)
    assert entry.status == QUARANTINED
    proof = json.loads(store.get_bytes(f"tests/shop/full/{backup_id}/proof.json"))  # written although the run failed
    assert (proof["verdict"], proof["standing"], proof["findings"]) == ("failed", "failed_drill", ["ARTEFACT_CORRUPT"])
    assert proof["run"]["run_id"] == dag_run.run_id
    assert states["recover"] == "failed"  # no scratch was set up; the record released the lease
    assert read_lease(store, layout_for(shop_target()), run_key(dag_run.run_id)) is None


def test_a_broken_newest_backup_turns_the_drill_red_even_when_an_older_one_restores(
        sandbox, airflow_db, restore_dag, fresh_backup, tmp_path) -> None:
    """The fallback to the next backup is the fetch step's result, not a raise: its NEWER_BACKUPS_UNUSABLE must
    still reach the record through Airflow (a drill that found a broken backup is never green)."""
    from tests.helpers.drill_helpers import run_steps

    older, _ = fresh_backup
    time.sleep(1.1)  # backup ids have whole seconds: this one must sort after the fixture's
    plan, manifest = run_steps(sandbox, shop_target(), tmp_path / "newest")
    newest = plan["backup_id"]
    store = store_for(sandbox, shop_target())
    key = f"tests/shop/full/{newest}/{manifest.objects[0].name}"
    body = bytearray(store.get_bytes(key))
    body[200] ^= 0x04
    store.put_bytes(key, bytes(body))

    # the whole form: dag.test keeps an earlier run's conf in the DAG's params (another test's 1 s RTO)
    dag_run = restore_dag.test(run_conf={"backup": "newest", "backup_id": "", "rto_objective": "", "rpo_objective": ""})

    record = list_drills(sandbox.history_url, "shop", "restore", limit=1)[0]
    assert record.run_id == dag_run.run_id and str(dag_run.state) == "failed", record.findings
    assert [f["code"] for f in record.findings] == ["NEWER_BACKUPS_UNUSABLE"], record.findings
    assert newest in record.findings[0]["message"] and record.backup_id != newest
    assert newest > older and record.backup_id >= older  # the next usable one was restored instead
