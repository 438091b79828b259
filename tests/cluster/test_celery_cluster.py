"""The backup drill on the two-worker Celery cluster (``drdrill stack``), driven through Airflow's REST API.

Green both ways: a run triggered by the README's commands whose tasks ran on both workers lands a valid backup;
a worker killed (SIGKILL of its process group) in the middle of the dump leaves the run failed, never green.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drdrill import cli
from drdrill.sandbox.cluster.stack import HEARTBEAT_TIMEOUT_SECONDS, WORKERS
from tests.helpers.cluster import ClusterAPI
from tests.helpers.readme import shell_block

pytestmark = pytest.mark.cluster

DAG_ID = "dr_backup__shop"


def drdrill(cluster: ClusterAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """``drdrill ARGV --json`` (in this process) with the stack's config (history in the stack's Postgres)."""
    monkeypatch.setenv("DRDRILL_CONFIG", str(cluster.stack.config_path("services")))
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")  # what main() would set for good
    capsys.readouterr()
    assert cli.main([*argv, "--json"]) == cli.EXIT_OK
    return json.loads(capsys.readouterr().out)


def backups(cluster: ClusterAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``drdrill backups list shop --json``: backup_id → summary."""
    listed = drdrill(cluster, monkeypatch, capsys, "backups", "list", "shop")["backups"]
    return {entry["backup_id"]: entry for entry in listed}


def readme_commands(cluster: ClusterAPI) -> tuple[list[str], dict[str, str]]:
    """The README's cluster commands (``make`` lines aside: the fixture started the stack) for this test's stack:
    its API port and directory instead of the defaults; the environment that points ``drdrill stack`` at it."""
    stack = cluster.stack
    commands = [command.replace("127.0.0.1:23093", stack.api_url.removeprefix("http://"))
                .replace(".stack/", f"{stack.directory}/")
                for command in shell_block("Run on a local Celery cluster") if not command.startswith("make ")]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "DRDRILL_STACK_DIR": str(stack.directory), "DRDRILL_STACK_PORT_BASE": str(stack.ports.postgres - 1)}
    return commands, env


def json_documents(text: str) -> list[Any]:
    """Every JSON document printed one after another in ``text``."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
    return documents


def test_backup_triggered_by_the_readmes_commands_runs_on_both_workers_and_lands(
        cluster: ClusterAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    before = backups(cluster, monkeypatch, capsys)
    cluster.wait_for_dag(DAG_ID)
    commands, env = readme_commands(cluster)
    *trigger, history = commands
    assert history.endswith("drdrill history --target shop"), commands
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(trigger)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    status, unpaused, triggered = json_documents(done.stdout)
    assert status["api_healthy"] and set(status["workers_registered"]) == set(WORKERS), status
    assert unpaused["is_paused"] is False and triggered["dag_id"] == DAG_ID, (unpaused, triggered)
    run_id = triggered["dag_run_id"]  # the stack places each next task on the other worker (spread)
    state = cluster.wait_finished(DAG_ID, run_id, 120)
    instances = cluster.task_instances(DAG_ID, run_id)
    placed = {task: (ti["state"], ti["hostname"]) for task, ti in instances.items()}
    assert state == "success", placed
    assert {hostname for _, hostname in placed.values()} == set(WORKERS), placed
    assert {task for task, ti in instances.items() if ti["pool"] == "drdrill_backup"} == {"dump_and_upload", "verify"}
    landed = {backup_id: entry for backup_id, entry in backups(cluster, monkeypatch, capsys).items() if backup_id not in before}
    assert len(landed) == 1 and next(iter(landed.values()))["valid"], landed
    recorded = drdrill(cluster, monkeypatch, capsys, "history", "--target", "shop", "--drill", "backup")["drills"]
    assert [record["verdict"] for record in recorded if record["run_id"] == run_id] == ["passed"], recorded
    shown = subprocess.run(["bash", "-euo", "pipefail", "-c", history], capture_output=True, text=True, env=env,
                           timeout=120)
    assert shown.returncode == 0 and next(iter(landed)) in shown.stdout, (shown.stdout, shown.stderr)


def test_worker_killed_mid_dump_leaves_the_run_red(cluster: ClusterAPI, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cluster.wait_for_dag(DAG_ID)
    with contextlib.closing(sandbox.sandbox.primary.root_connect()) as conn:  # the dump waits on these locks
        conn.cursor().execute("LOCK TABLES shop.customers WRITE, shop.orders WRITE, shop.order_items WRITE")
        run_id = cluster.trigger(DAG_ID)
        running = cluster.wait_until(DAG_ID, run_id, lambda tis: tis["dump_and_upload"]["state"] == "running"
                                     and tis["dump_and_upload"]["hostname"], 90, "dump_and_upload running")
        victim = running["dump_and_upload"]["hostname"]
        pid = cluster.stack.components[victim].pid()
        assert pid, f"{victim} is not running"
        os.killpg(pid, signal.SIGKILL)
    cluster.wait_until(DAG_ID, run_id, lambda tis: tis["dump_and_upload"]["state"] == "failed",
                       HEARTBEAT_TIMEOUT_SECONDS + 45, "the dead worker's task failed")
    cluster.stack.up()  # the machine comes back: the spread placement keeps the later tasks on their workers' queues
    state = cluster.wait_finished(DAG_ID, run_id, 90)
    instances = cluster.task_instances(DAG_ID, run_id)
    assert state == "failed", instances
    assert instances["record"]["state"] == "failed", instances["record"]  # recorded red
    recorded = drdrill(cluster, monkeypatch, capsys, "history", "--target", "shop", "--drill", "backup")["drills"]
    verdicts = [record["verdict"] for record in recorded if record["run_id"] == run_id]
    assert len(verdicts) == 1 and verdicts[0] != "passed", recorded
