"""The DAG files touch nothing at parse time and produce well-formed drill DAGs (parse speed: bench/dag_parse.py)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.dags
ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))

def load_dag_module(path: Path):
    """Import a DAG file as a fresh module."""
    spec = importlib.util.spec_from_file_location(f"dagfile_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def probe(path: Path) -> subprocess.CompletedProcess[str]:
    """``drdrill.airflow.parse_probe`` on one file, without any AIRFLOW_CONN_* variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    return subprocess.run([sys.executable, "-m", "drdrill.airflow.parse_probe", str(path)],
                          capture_output=True, text=True, env=env)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_without_touching_network_or_connections(path: Path) -> None:
    """Parse time itself is measured by bench/dag_parse.py, not asserted here."""
    done = probe(path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dag_ids"], "the file generated no DAG"


@pytest.mark.parametrize("reach_out", [
    "from airflow.sdk.bases.hook import BaseHook\nBaseHook.get_connection('drdrill_shop_primary')",
    "from airflow.sdk import Variable\nVariable.get('anything')",
    "import socket\nsocket.create_connection(('127.0.0.1', 9))",
], ids=["connection", "variable", "socket"])
def test_parse_probe_refuses_a_dag_file_that_reaches_out(reach_out: str, tmp_path: Path) -> None:
    dag_file = tmp_path / "dr_reaches_out.py"
    dag_file.write_text(reach_out + "\nDAGS = {}\n")
    done = probe(dag_file)
    assert done.returncode != 0 and "used at DAG parse time" in done.stderr, done.stderr[-2000:]


def test_backup_dag_is_generated_per_target_with_docs_tags_owner_and_form() -> None:
    dags = load_dag_module(ROOT / "dags" / "dr_backup.py").DAGS
    dag = dags["shop"]
    assert dag.dag_id == "dr_backup__shop"
    assert {"drdrill", "backup", "target:shop"} <= set(dag.tags)
    assert dag.owner and dag.owner != "airflow"
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert "Backup drill" in dag.doc_md and "**Target `shop`**" in dag.doc_md
    assert [t.task_id for t in dag.topological_sort()] == [
        "preflight", "dump_and_upload", "write_manifest", "verify", "retention", "record"]
    assert dag.params["engine"] == "configured" and dag.params["dry_run"] is False
    assert set(dag.params.get_param("engine").schema["enum"]) >= {"mariadb-dump", "mydumper", "mariabackup"}
    assert dag.get_task("record").trigger_rule == "all_done"
    assert [outlet.name for outlet in dag.get_task("verify").outlets] == ["drdrill_backup__shop"]
    assert dag.get_task("record").on_failure_callback, "the record task must alert Slack on a red verdict"


def test_a_config_typo_is_an_import_error_that_names_file_key_and_fix(tmp_path: Path) -> None:
    config = Path(os.environ["DRDRILL_CONFIG"]).read_text().replace("objectives:", "objectivs:")
    bad = tmp_path / "drills.yaml"
    bad.write_text(config)
    env = {**os.environ, "DRDRILL_CONFIG": str(bad)}
    done = subprocess.run([sys.executable, str(ROOT / "dags" / "dr_backup.py")], capture_output=True, text=True, env=env)
    assert done.returncode != 0
    assert "drills.yaml" in done.stderr and "objectivs" in done.stderr and "objectives" in done.stderr
    assert "Fix:" in done.stderr


BAG_PROBE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
broken = bag.dags["dr_restore_drill__shop_typo"]
try:
    broken.get_task("config_error").python_callable()
    raised = None
except Exception as exc:
    raised = [type(exc).__name__, str(exc)]
print(json.dumps({{"dag_ids": sorted(bag.dags), "errors": {{k: v for k, v in bag.import_errors.items()}},
                  "tags": sorted(broken.tags), "schedule": type(broken.timetable).__name__, "raised": raised}}))
"""


def test_one_broken_target_leaves_every_other_targets_dags_loaded(tmp_path: Path) -> None:
    config = Path(os.environ["DRDRILL_CONFIG"]).read_text() + (
        "  - name: shop_typo\n    source_conn_id: shop_primary\n    databases: [shop]\n"
        "    storage: {conn_id: drdrill_s3, bucket: drdrill-backups, prefix: typo}\n"
        "    retention: {keep_backups: 3}\n    objectives: {rto: 30 minutes, rpo: 15m}\n")
    bad = tmp_path / "drills.yaml"
    bad.write_text(config)
    env = {**os.environ, "DRDRILL_CONFIG": str(bad)}
    done = subprocess.run([sys.executable, "-c", BAG_PROBE.format(folder=str(ROOT / "dags"))],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    bag = json.loads(done.stdout.strip().splitlines()[-1])
    assert bag["errors"] == {}
    healthy = {f"dr_{kind}__shop" for kind in ("backup", "restore_drill", "pitr_drill", "failover_drill",
                                                "binlog_archive", "rpo_monitor")}
    assert healthy <= set(bag["dag_ids"])
    assert {dag_id for dag_id in bag["dag_ids"] if dag_id.endswith("__shop_typo")} == {
        f"dr_{kind}__shop_typo" for kind in ("backup", "restore_drill", "pitr_drill", "binlog_archive", "rpo_monitor")}
    assert "config-error" in bag["tags"] and bag["schedule"] == "OnceTimetable"
    kind, message = bag["raised"]
    assert kind == "AirflowFailException"
    assert "targets[shop_typo].objectives.rto: invalid duration '30 minutes'" in message and "Fix:" in message


def test_airflow_reports_no_import_errors(airflow_db) -> None:
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "dags", "reserialize"], capture_output=True, text=True, check=True)
    done = subprocess.run([airflow, "dags", "list-import-errors", "-o", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json_output(done.stdout) == []
    listed = subprocess.run([airflow, "dags", "list", "-o", "json"], capture_output=True, text=True, check=True)
    assert "dr_backup__shop" in {dag["dag_id"] for dag in json_output(listed.stdout)}


def json_output(stdout: str):
    """The JSON document of an Airflow CLI command (Airflow may print warnings before it)."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith(("[", "{")) and not line.startswith("[2"))
    return json.loads("\n".join(lines[start:]))


@pytest.mark.parametrize("dag_file,dag_id,steps_module", [
    ("dr_restore_drill.py", "dr_restore_drill__shop", "drdrill.drills.restore.steps"),
    ("dr_pitr_drill.py", "dr_pitr_drill__shop", "drdrill.drills.pitr.steps"),
])
def test_recovery_dags_run_the_steps_sharing_the_scratch_server_in_one_task(dag_file, dag_id, steps_module) -> None:
    """On a cluster each task may land on another worker; the fetched files and the scratch server stay with one."""
    steps = importlib.import_module(steps_module).STEPS
    dag = load_dag_module(ROOT / "dags" / dag_file).DAGS["shop"]
    assert dag.dag_id == dag_id
    assert [t.task_id for t in dag.topological_sort()] == [steps[0], "recover", "measure", "record"]
    assert not any(task.is_setup or task.is_teardown for task in dag.tasks)
    for after in ("measure", "record"):  # a failure before or inside recover is still measured/recorded
        assert dag.get_task(after).trigger_rule == "all_done"
    assert dag.get_task("record").on_failure_callback
    assert dag.get_task("recover").retries == 0 and dag.get_task("record").retries == 0


def test_recovery_dags_keep_their_trigger_forms() -> None:
    restore = load_dag_module(ROOT / "dags" / "dr_restore_drill.py").DAGS["shop"]
    pitr = load_dag_module(ROOT / "dags" / "dr_pitr_drill.py").DAGS["shop"]
    assert list(restore.params.keys()) == ["backup", "backup_id", "window_days", "keep_scratch", "rto_objective",
                                           "rpo_objective", "disaster_at"]
    assert list(pitr.params.keys()) == ["target_time", "keep_scratch", "disaster_at"]


def test_shipped_config_restores_on_its_schedule_and_after_every_valid_backup() -> None:
    from airflow.sdk import AssetOrTimeSchedule

    from drdrill.airflow.assets import after_backup_schedule
    from drdrill.config import load_config

    target = load_config(ROOT / "include" / "drills.yaml").target("shop")
    schedule = after_backup_schedule(target, target.schedules.restore_drill, target.restore_drill.after_backup)
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert "drdrill_backup__shop" in repr(schedule.asset_condition)
    assert after_backup_schedule(target, None, True)[0].name == "drdrill_backup__shop"
    assert after_backup_schedule(target, "@daily", False) == "@daily"


def test_failover_dag_asks_a_human_before_the_fault_only_on_production_targets() -> None:
    import dataclasses

    from drdrill.config import load_config
    from drdrill.dags.failover import build_failover_dag

    shop = load_config().target("shop")
    plain = build_failover_dag(shop)
    assert "approve" not in plain.task_ids
    assert plain.get_task("fail_over").upstream_task_ids == {"preflight"}
    assert [task.task_id for task in plain.topological_sort()] == [
        "preflight", "fail_over", "cleanup", "verify_consistency", "record"]  # the canary stays on one worker
    production = build_failover_dag(dataclasses.replace(shop, production=True))
    approve = production.get_task("approve")
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    assert isinstance(approve, ApprovalOperator)
    assert approve.upstream_task_ids == {"preflight"} and production.get_task("fail_over").upstream_task_ids == {"approve"}
    assert "approval_text" in approve.body
    assert production.get_task("record").upstream_task_ids == {"verify_consistency"}
    assert production.get_task("cleanup").trigger_rule == "all_done" and production.get_task("fail_over").retries == 0


FAILOVER_TARGETS = """
settings: {{history_url: "sqlite:///{dir}/history.sqlite", work_dir: "{dir}/work"}}
defaults:
  storage: {{conn_id: s3, bucket: drdrill-backups}}
  objectives: {{rto: 30m, rpo: 15m}}
  retention: {{keep_backups: 1}}
targets:
  - {{name: forbidden, source_conn_id: p, replica_conn_id: r, databases: [shop]}}
  - {{name: selfmanaged, source_conn_id: p, replica_conn_id: r, databases: [shop], allow_failover_drill: true,
     failover_drill: {{canary_conn_id: c}}}}
  - {{name: aurora, source_conn_id: p, databases: [shop], allow_failover_drill: true,
     failover_drill: {{canary_conn_id: c, fault: aurora_failover, db_cluster_id: shop-cluster}}}}
  - {{name: noreplica, source_conn_id: p, databases: [shop], allow_failover_drill: true,
     failover_drill: {{canary_conn_id: c}}}}
"""


def test_failover_dags_exist_only_for_allowed_targets_with_a_replica_or_a_managed_fault(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "drills.yaml"
    config.write_text(FAILOVER_TARGETS.format(dir=tmp_path))
    monkeypatch.setenv("DRDRILL_CONFIG", str(config))
    module = load_dag_module(ROOT / "dags" / "dr_failover_drill.py")
    assert set(module.DAGS) == {"selfmanaged", "aurora"}
    assert module.DAGS["aurora"].dag_id == "dr_failover_drill__aurora"


def test_every_task_of_every_drill_dag_has_a_timeout_and_every_dag_a_run_timeout() -> None:
    for path in DAG_FILES:
        for dag in load_dag_module(path).DAGS.values():
            assert dag.dagrun_timeout, dag.dag_id
            assert all(task.execution_timeout for task in dag.tasks), dag.dag_id


def pooled_tasks() -> dict[tuple[str, str], str]:
    """(DAG id prefix, task id) -> pool of every task of every DAG file that is not in Airflow's default_pool."""
    return {(dag.dag_id.split("__")[0], task.task_id): task.pool for path in DAG_FILES
            for dag in load_dag_module(path).DAGS.values() for task in dag.tasks if task.pool != "default_pool"}


def test_the_heavy_tasks_run_in_the_configured_pools_and_every_other_task_in_the_default_pool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pooled_tasks() == {}
    config = Path(os.environ["DRDRILL_CONFIG"]).read_text()
    pooled = tmp_path / "drills.yaml"
    pooled.write_text(re.sub(r"(?m)^settings:\n", "settings:\n  pools: {backup: dr_dumps, recovery: dr_scratch}\n",
                             config, count=1))
    monkeypatch.setenv("DRDRILL_CONFIG", str(pooled))
    assert pooled_tasks() == {("dr_backup", "dump_and_upload"): "dr_dumps", ("dr_backup", "verify"): "dr_dumps",
                              ("dr_restore_drill", "recover"): "dr_scratch", ("dr_pitr_drill", "recover"): "dr_scratch"}
