"""A production target's failover DAG waits for a human: rejected, nothing is touched and the run is red;
approved, the drill runs. Through Airflow (``airflow dags test``), answered the way the UI answers.

The target ``shopprod`` is the session sandbox's ``shop`` marked ``production: true`` (its own history file), so
its DAG has the approve task; the answer comes from ``hitl_respond`` in another process, through the public
HITL route's own code, while ``airflow dags test`` waits for it. Unanswered, the request times out through the
scheduler's own timeout sweep, run by the same helper.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drdrill.history import list_drills
from drdrill.sandbox.slack_sink import read_posts
from drdrill.servers.replication import replication_status
from tests.helpers.failover_helpers import without_source_variable

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "dr_failover_drill__shopprod"


def _production_config(box, directory: Path, **failover_drill: str) -> tuple[Path, str]:
    """A config whose only target is the sandbox's shop as production target ``shopprod``; its history URL."""
    config = yaml.safe_load(box.config_path.read_text())
    history = f"sqlite:///{directory}/history.sqlite"
    config["settings"] = {"history_url": history, "work_dir": str(directory / "work")}
    shop = config["targets"][0]
    config["targets"] = [{**shop, "name": "shopprod", "production": True,
                          "failover_drill": {**shop["failover_drill"], **failover_drill}}]
    path = directory / "drills.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, history


@pytest.fixture
def production(metastore_primary_connection, tmp_path: Path):
    """The production config (4 h approval timeout) and its history URL."""
    return _production_config(metastore_primary_connection, tmp_path)


def _run_answering(config: Path, option: str, logs: Path) -> tuple[str, dict]:
    """Run the DAG while another process answers its approval request with ``option`` (or ``--no-answer``: lets
    it time out); the run's log, and what that process printed."""
    log = logs / "dags-test.log"
    with log.open("w") as output:
        run = subprocess.Popen([str(Path(sys.executable).parent / "airflow"), "dags", "test", DAG_ID],
                               stdout=output, stderr=subprocess.STDOUT, env=without_source_variable(config))
        try:
            answer = subprocess.run([sys.executable, "-m", "tests.helpers.hitl_respond", DAG_ID, "approve", option],
                                    cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert answer.returncode == 0, answer.stderr[-2000:] + log.read_text()[-3000:]
            run.wait(timeout=600)
        finally:
            if run.poll() is None:
                run.kill()
    return log.read_text(), json.loads(answer.stdout.strip().splitlines()[-1])


def _replication(box) -> dict:
    with contextlib.closing(box.replica.root_connect()) as conn:
        return replication_status(conn)


def _finished(log: str) -> str:
    return next((line for line in log.splitlines()[::-1] if "DagRun Finished" in line), "no DagRun Finished line")


def test_a_rejected_production_drill_touches_nothing_and_is_not_green(production, metastore_primary_connection,
                                                                     tmp_path: Path) -> None:
    config, history = production
    box = metastore_primary_connection.sandbox
    pid_before = box.primary.pid()
    posts_before = len(read_posts(box.slack_record))

    log, request = _run_answering(config, "Reject", tmp_path)

    assert f"kill -9 of mariadbd pid {pid_before}" in request["body"]  # the approver saw what would be done
    assert f"127.0.0.1:{box.ports.replica}" in request["body"] and "drdrill_shop_primary" in request["body"]
    assert "production target shopprod" in request["subject"]
    assert "state=failed" in _finished(log), log[-3000:]
    record = list_drills(history, "shopprod", "failover", limit=1)[0]
    assert record.verdict == "could_not_verify"
    assert [f["code"] for f in record.findings] == ["NOT_APPROVED"]
    assert "sre chose Reject" in record.findings[0]["message"] and "Nothing was touched" in record.findings[0]["message"]
    assert record.details["failed_steps"] == ["approve"]
    assert box.primary.pid() == pid_before  # never killed
    status = _replication(box)
    assert status["Slave_SQL_Running"] == "Yes" and int(status["Master_Port"]) == box.ports.primary
    posts = read_posts(box.slack_record)[posts_before:]
    assert len(posts) == 1 and "NOT_APPROVED" in posts[0]["body"]["text"]


def test_an_approved_production_drill_runs_and_passes(production, metastore_primary_connection, tmp_path: Path) -> None:
    config, history = production
    box = metastore_primary_connection.sandbox
    pid_before = box.primary.pid()

    log, request = _run_answering(config, "Approve", tmp_path)

    assert request["chosen_options"] == ["Approve"]
    assert "state=success" in _finished(log), log[-3000:]
    record = list_drills(history, "shopprod", "failover", limit=1)[0]
    assert record.verdict == "passed", record.findings
    assert "roles after: original" in record.details["headline"]
    assert box.primary.pid() != pid_before  # the drill ran: the primary was killed and started again
    status = _replication(box)
    assert status["Slave_SQL_Running"] == "Yes" and int(status["Master_Port"]) == box.ports.primary


def test_a_production_drill_nobody_answers_times_out_touches_nothing_and_is_not_green(metastore_primary_connection,
                                                                                     tmp_path: Path) -> None:
    config, history = _production_config(metastore_primary_connection, tmp_path, approval_timeout="5s")
    box = metastore_primary_connection.sandbox
    pid_before = box.primary.pid()
    posts_before = len(read_posts(box.slack_record))

    log, swept = _run_answering(config, "--no-answer", tmp_path)

    assert "timed_out_at" in swept
    assert "state=failed" in _finished(log), log[-3000:]
    record = list_drills(history, "shopprod", "failover", limit=1)[0]
    assert record.verdict == "could_not_verify"
    assert [f["code"] for f in record.findings] == ["NOT_APPROVED"]
    assert "no approval came" in record.findings[0]["message"]
    assert box.primary.pid() == pid_before  # never killed
    assert int(_replication(box)["Master_Port"]) == box.ports.primary
    posts = read_posts(box.slack_record)[posts_before:]
    assert len(posts) == 1 and "NOT_APPROVED" in posts[0]["body"]["text"]
