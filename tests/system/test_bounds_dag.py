"""Bounded and exclusive, through Airflow (``dag.test``, what ``airflow dags test`` runs, and that command itself):
a hung tool ends its run red with TASK_TIMEOUT within its bound, and a failover drill started while a backup of the
same target holds it is refused, touching nothing."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

import pytest

from drdrill import drill_locks
from drdrill.history import list_drills
from tests.helpers.failover_helpers import finished_state, run_dag
from tests.helpers.s3_proxy import s3_fault_proxy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
BOUND = 4  # seconds: timeouts.backup of the bounded config


def bounded_config(sandbox, tmp_path: Path, timeouts: str = f"backup: {BOUND}s, lock_wait: 1s") -> Path:
    """The session's config with short bounds: each backup task 4 s, a conflicting drill waited for 1 s."""
    config = tmp_path / "drills.yaml"
    text = sandbox.config_path.read_text()
    assert "    tags: [test]\n" in text
    config.write_text(text.replace("    tags: [test]\n", f"    tags: [test]\n    timeouts: {{{timeouts}}}\n"))
    return config


def dag_file(name: str, module_name: str):
    """The DAG file's module, loaded now (its DAGs' bounds come from the config at parse time)."""
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "dags" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_backup_whose_upload_hangs_ends_red_with_task_timeout_within_its_bound(sandbox, airflow_db, tmp_path,
                                                                                monkeypatch) -> None:
    monkeypatch.setenv("DRDRILL_CONFIG", str(bounded_config(sandbox, tmp_path)))
    module = dag_file("dr_backup.py", "dagfile_dr_backup_bounds")
    with s3_fault_proxy(sandbox.sandbox.s3_endpoint_url) as proxy:
        s3 = sandbox.sandbox.airflow_connections()["drdrill_s3"]
        extra = json.loads(s3["extra"]) if isinstance(s3["extra"], str) else s3["extra"]
        monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_S3", json.dumps({**s3, "extra": {**extra, "endpoint_url": proxy.url}}))
        proxy.stall(BOUND + 2, after_bytes=64 * 1024)  # past preflight, the upload goes silent (longer than the bound)
        dag_run = module.DAGS["shop"].test()  # what ``airflow dags test`` runs

    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "failed" and states["dump_and_upload"] == "failed", states
    assert states["record"] == "failed", states  # it ran, and turned the run red
    assert proxy.stalled_connections > 0
    dumped = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "dump_and_upload")
    assert (dumped.end_date - dumped.start_date).total_seconds() < BOUND + 8  # the bound, then the stalled abort's end
    record = list_drills(sandbox.history_url, "shop", "backup", limit=1)[0]
    assert record.run_id == dag_run.run_id and record.verdict == "could_not_verify"
    assert record.details["failed_steps"] == ["dump_and_upload"]
    [finding] = record.findings
    assert finding["code"] == "TASK_TIMEOUT", record.findings
    assert f"Task dump_and_upload ran longer than its bound of {BOUND}s" in finding["message"]
    assert "timeouts.backup of target shop" in finding["message"] and "raise timeouts.backup" in finding["fix"]
    assert drill_locks.holders(sandbox.history_url, "shop") == []  # the record released the target


def test_a_failover_drill_during_a_backup_is_refused_naming_it_and_touches_nothing(metastore_primary_connection,
                                                                                   tmp_path) -> None:
    sandbox = metastore_primary_connection
    config = bounded_config(sandbox, tmp_path)
    pid_before = sandbox.sandbox.primary.pid()
    assert drill_locks.take(sandbox.history_url, target="shop", drill="backup", run_id="manual__bounds_backup",
                            expires_in=timedelta(hours=1)) is None
    try:
        done = run_dag("dr_failover_drill__shop", config)
    finally:
        drill_locks.release(sandbox.history_url, target="shop", run_id="manual__bounds_backup")

    assert finished_state(done) == "failed", done.stdout[-3000:] + done.stderr[-3000:]
    record = list_drills(sandbox.history_url, "shop", "failover", limit=1)[0]
    assert record.verdict == "could_not_verify"
    [finding] = record.findings
    assert finding["code"] == "DRILL_CONFLICT"
    assert "backup drill run manual__bounds_backup" in finding["message"] and "waited 1s" in finding["message"]
    assert sandbox.sandbox.primary.pid() == pid_before  # never killed
    assert "start_canary" not in record.stage_seconds


def test_a_hold_left_by_a_run_airflow_has_ended_does_not_block_the_next_drill(sandbox, airflow_db, tmp_path,
                                                                            monkeypatch) -> None:
    """A run whose record never released its target (marked failed in the UI, its worker lost at the record) frees
    the target as soon as Airflow says that run has ended, not at its expiry hours later."""
    monkeypatch.setenv("DRDRILL_CONFIG", str(bounded_config(sandbox, tmp_path, timeouts="lock_wait: 1s")))
    backup = dag_file("dr_backup.py", "dagfile_dr_backup_stale_hold").DAGS["shop"]
    ended = backup.test(run_conf={"dry_run": True})
    assert str(ended.state) == "success"
    assert drill_locks.take(sandbox.history_url, target="shop", drill="backup", run_id=ended.run_id,
                            expires_in=timedelta(hours=6)) is None  # as if its record had never released it
    dag_run = backup.test(run_conf={"dry_run": True})
    assert str(dag_run.state) == "success", {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    record = list_drills(sandbox.history_url, "shop", "backup", limit=1)[0]
    assert record.run_id == dag_run.run_id and record.findings == []
    assert drill_locks.holders(sandbox.history_url, "shop") == []
