"""The PITR drill through Airflow (``dag.test()``) on the session sandbox: green, with the target time,
RTO, RPO and the replay stage recorded."""

from __future__ import annotations

import importlib.util
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.archive import steps as archive_steps
from drdrill.drills.pitr.steps import whole_second
from drdrill.history import list_drills
from tests.helpers.drill_helpers import run_steps, shop_target, store_for

pytestmark = pytest.mark.integration


def test_pitr_dag_passes_through_airflow(sandbox, airflow_db, tmp_path) -> None:
    # the DAG uses the configured target (prefix "tests"): give it a backup and an archive of its own
    shop = shop_target()
    run_steps(sandbox, shop, tmp_path / "dag-backup")
    time.sleep(2.5)
    moment = whole_second(datetime.now(timezone.utc)) - timedelta(seconds=1)
    time.sleep(1.5)
    archive_steps.archive(shop, sandbox.sandbox.backup_endpoint(), store_for(sandbox, shop), work_dir=tmp_path / "a")
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("dagfile_dr_pitr_it", root / "dags" / "dr_pitr_drill.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag_run = module.DAGS["shop"].test(run_conf={"target_time": moment.isoformat()})
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states == dict.fromkeys(("plan", "recover", "measure", "record"), "success"), states
    record = list_drills(sandbox.history_url, "shop", "pitr", limit=1)[0]
    assert record.verdict == "passed" and record.details["target_time"] == moment.isoformat()
    assert record.rto_seconds and record.rpo_seconds is not None and "replay" in record.stage_seconds
