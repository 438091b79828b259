"""``drdrill failover`` as a DBA runs it, on the session sandbox (shared: every test leaves it as it found it).

The source connection lives only in the Airflow metastore here (the drill redirects it there, as the DAG does),
so the command runs without its AIRFLOW_CONN_* variable.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from drdrill.history import list_drills
from drdrill.sandbox.slack_sink import read_posts
from drdrill.servers.replication import replication_status, wait_replica_caught_up
from tests.helpers.failover_helpers import (
    PRIMARY_CONN,
    airflow_cli,
    assert_fail_back_reported_once,
    assert_put_back,
    config_locking_replication_on_redirect,
    connection_port,
    promotion_refused,
    scalar,
    switch_back_by_hand,
    without_source_variable,
)

pytestmark = pytest.mark.integration
DRDRILL = str(Path(sys.executable).parent / "drdrill")
ALL_STEPS = {"preflight", "start_canary", "inject_fault", "detect", "promote", "redirect", "verify_writes", "measure",
             "fail_back", "cleanup", "verify_consistency"}


def run_failover(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``drdrill failover shop ...`` with the source connection only in the metastore."""
    return subprocess.run([DRDRILL, "failover", "shop", *args], capture_output=True, text=True,
                          env=without_source_variable(config), timeout=600)


@pytest.fixture(scope="module")
def source_in_metastore(sandbox, airflow_db):
    """The source connection in the metastore for this module; deleted afterwards unless it was there before."""
    existed = airflow_cli("connections", "get", PRIMARY_CONN, "-o", "json", check=False).returncode == 0
    yield
    if not existed:
        airflow_cli("connections", "delete", PRIMARY_CONN)


@pytest.fixture
def box(source_in_metastore, metastore_primary_connection):
    """The sandbox, with the metastore's source connection pointing at the primary."""
    return metastore_primary_connection


def _untouched_state(handle: Any) -> dict[str, Any]:
    """What a drill that touches nothing must leave exactly as it was."""
    box = handle.sandbox
    canary = scalar(box.primary, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'shop' "
                                  "AND table_name = 'drdrill_canary'")
    with contextlib.closing(box.replica.root_connect()) as conn:
        status = replication_status(conn)
    return {"primary_pid": box.primary.pid(), "replica_pid": box.replica.pid(),
            "canary_rows": scalar(box.primary, "SELECT COUNT(*) FROM shop.drdrill_canary") if canary else None,
            "read_only": (scalar(box.primary, "SELECT @@read_only"), scalar(box.replica, "SELECT @@read_only")),
            "replicating": (status["Slave_IO_Running"], status["Slave_SQL_Running"], int(status["Master_Port"])),
            "connection_port": connection_port(PRIMARY_CONN),
            "failover_records": len(list_drills(handle.history_url, "shop", "failover", limit=1000))}


def test_failover_from_the_cli_is_green_records_and_puts_everything_back(box, tmp_path: Path) -> None:
    server = box.sandbox
    pid_before = server.primary.pid()
    posts_before = len(read_posts(server.slack_record))
    moves = tmp_path / "hook.log"  # what a ProxySQL/DNS hook would be told, in order
    config = tmp_path / "drills.yaml"
    hook = f"sh -c 'echo $DRDRILL_NEW_PRIMARY_PORT $DRDRILL_OLD_PRIMARY_PORT >> {moves}'"
    config.write_text(Path(os.environ["DRDRILL_CONFIG"]).read_text().replace(
        "failover_drill: {", f"failover_drill: {{redirect_command: \"{hook}\", ", 1))
    began = time.monotonic()

    done = run_failover("--json", config=config)

    print(f"drdrill failover took {time.monotonic() - began:.1f} s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    printed = json.loads(done.stdout)
    record = list_drills(box.history_url, "shop", "failover", limit=1)[0]
    assert record.run_id == printed["run_id"] and record.run_id.startswith("cli__")
    assert record.verdict == printed["verdict"] == "passed", record.findings
    assert set(record.stage_seconds) == ALL_STEPS
    assert 0 < record.rto_seconds < record.rto_objective_seconds == 1800  # measured, and judged against it
    assert record.rpo_seconds is not None and record.rpo_objective_seconds == 900
    assert record.details["fault"] == "kill" and record.details["dry_run"] is False
    assert "canary row(s)" in record.details["headline"] and "roles after: original" in record.details["headline"]
    assert record.details["measured"]["lost"]["canary_acked_by_old_primary"] > 0
    assert record.details["fail_back"]["roles"] == "original"
    assert record.details["fail_back"]["connection"] == f"{PRIMARY_CONN} -> 127.0.0.1:{server.ports.primary}"
    assert len(read_posts(server.slack_record)) == posts_before  # like every drill run by hand: no Slack
    primary, replica = server.ports.primary, server.ports.replica
    assert moves.read_text().split("\n")[:-1] == [f"{replica} {primary}", f"{primary} {replica}"]  # over, and back
    assert record.details["fail_back"]["hook"]["new_primary"] == f"127.0.0.1:{primary}"

    assert server.primary.pid() != pid_before  # it really was killed, and started again
    assert_put_back(server)  # the connection was redirected, then pointed back
    from drdrill.drills.failover.path import run_dir
    from drdrill.servers.scratch import run_key

    assert not run_dir(box.config_path.parent / "work", run_key(record.run_id)).exists()  # no acks.txt left behind


def test_dry_run_checks_and_says_what_it_would_do_but_touches_nothing(box) -> None:
    before = _untouched_state(box)

    done = run_failover("--dry-run", "--json")

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    printed = json.loads(done.stdout)
    assert printed["verdict"] == "passed" and printed["details"]["dry_run"] is True
    assert set(printed["stage_seconds"]) == {"preflight"}
    said = printed["details"]["approval_text"]
    assert f"kill -9 of mariadbd pid {before['primary_pid']} (mariadbd --defaults-file=" in said
    assert _untouched_state(box) == before  # no kill, no canary row, same replication, connection, history


def test_production_target_prints_the_plan_and_refuses_without_approval(box, tmp_path: Path) -> None:
    config = tmp_path / "drills.yaml"
    text = Path(os.environ["DRDRILL_CONFIG"]).read_text()
    config.write_text(text.replace("    allow_failover_drill: true\n", "    allow_failover_drill: true\n    production: true\n"))
    before = _untouched_state(box)

    done = run_failover(config=config)

    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"kill -9 of mariadbd pid {before['primary_pid']}" in done.stdout
    assert f"Promote the replica 127.0.0.1:{box.sandbox.ports.replica}" in done.stdout
    assert f"`{PRIMARY_CONN}`" in done.stdout and "--yes-i-approve" in done.stdout
    assert _untouched_state(box) == before


def test_stopped_replication_is_red_and_nothing_is_touched(box) -> None:
    server = box.sandbox
    scalar(server.replica, "STOP SLAVE")
    try:
        before = _untouched_state(box)
        done = run_failover()
        after = _untouched_state(box)
    finally:
        scalar(server.replica, "START SLAVE")
        with contextlib.closing(server.replica.root_connect()) as replica, \
                contextlib.closing(server.primary.root_connect()) as primary:
            wait_replica_caught_up(replica, primary, 60)

    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Failover drill for shop: FAILED" in done.stdout and "REPLICATION_BROKEN" in done.stdout
    record = list_drills(box.history_url, "shop", "failover", limit=1)[0]
    assert [finding["code"] for finding in record.findings] == ["REPLICATION_BROKEN"]
    assert record.details["failed_steps"] == ["preflight"] and set(record.stage_seconds) == set()
    assert {**after, "failover_records": before["failover_records"]} == before
    assert after["failover_records"] == before["failover_records"] + 1


def test_failed_promotion_is_red_and_cleanup_still_puts_everything_back(box) -> None:
    server = box.sandbox
    pid_before = server.primary.pid()
    with promotion_refused(server):
        done = run_failover()

    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Failover drill for shop: FAILED" in done.stdout and "PROMOTION_FAILED" in done.stdout
    assert "afterwards: roles original" in done.stdout
    record = list_drills(box.history_url, "shop", "failover", limit=1)[0]
    assert [finding["code"] for finding in record.findings] == ["PROMOTION_FAILED"]  # cleanup and the check found nothing
    assert record.details["failed_steps"] == ["promote"]
    assert {"inject_fault", "detect", "cleanup", "verify_consistency"} <= set(record.stage_seconds)
    assert not {"promote", "redirect", "measure", "fail_back"} & set(record.stage_seconds)
    assert record.details["fail_back"]["roles"] == "original"  # from cleanup, as the DAG's teardown
    assert server.primary.pid() != pid_before
    assert_put_back(server)  # the connection was never redirected


def test_interrupted_drill_cleans_up_and_records_could_not_verify(box) -> None:
    server = box.sandbox
    pid_before = server.primary.pid()
    # Ctrl-C's default action in the drill even when the suite runs as a background job (which ignores SIGINT
    # and passes that on): otherwise the signal below is ignored and the drill simply runs to the end.
    drill = subprocess.Popen([DRDRILL, "failover", "shop"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=without_source_variable(),
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while server.primary.pid() == pid_before and drill.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert drill.poll() is None, "the drill ended before the fault was injected"
        drill.send_signal(signal.SIGINT)  # Ctrl-C, with the primary down
        stdout, stderr = drill.communicate(timeout=300)
    finally:
        if drill.poll() is None:
            drill.kill()

    assert drill.returncode == 1, stdout[-3000:] + stderr[-3000:]
    assert "COULD_NOT_VERIFY: The drill was interrupted during step" in stdout
    record = list_drills(box.history_url, "shop", "failover", limit=1)[0]
    assert record.verdict == "could_not_verify", record.findings
    assert [finding["code"] for finding in record.findings] == ["COULD_NOT_VERIFY"]  # cleanup and the check found nothing
    assert {"inject_fault", "cleanup", "verify_consistency"} <= set(record.stage_seconds)
    assert record.details["fail_back"]["roles"] == "original"
    assert server.primary.pid() != pid_before
    assert_put_back(server)


def test_a_fail_back_that_cannot_work_is_reported_once_and_cleanup_does_not_retry_it(box, tmp_path: Path) -> None:
    server = box.sandbox
    try:
        done = run_failover(config=config_locking_replication_on_redirect(server, tmp_path))

        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        assert_fail_back_reported_once(list_drills(box.history_url, "shop", "failover", limit=1)[0], server)
    finally:
        switch_back_by_hand(server)
    assert_put_back(server)
