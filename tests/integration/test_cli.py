"""The drdrill command as a user runs it: JSON for scripts, clear errors with a fix, exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from drdrill.drills.layouts import layout_for
from drdrill.storage.lease import release_lease, take_lease
from tests.helpers.drill_helpers import shop_target, store_for

pytestmark = pytest.mark.integration
DRDRILL = str(Path(sys.executable).parent / "drdrill")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DRDRILL, *args], capture_output=True, text=True, env=env or os.environ.copy(), timeout=300)


def test_backup_then_list_shows_a_valid_backup_as_json(sandbox) -> None:
    done = run("backup", "shop", "--json", "--deep-verify")
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout)
    assert record["verdict"] == "passed" and record["backup_id"]
    assert record["details"]["verify"]["kind"] == "deep" and record["details"]["verify"]["read_bytes"] > 0
    assert record["details"]["verify"]["deep_reason"] == "a deep verify was asked for"

    listed = run("backups", "list", "shop", "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    backups = {b["backup_id"]: b for b in json.loads(listed.stdout)["backups"]}
    assert backups[record["backup_id"]]["valid"] is True
    assert backups[record["backup_id"]]["engine"] == "mariadb-dump"
    assert backups[record["backup_id"]]["lease"] is None

    target = shop_target()  # a restore drill restoring it holds a lease: the listing shows whose
    store, layout = store_for(sandbox, target), layout_for(target)
    take_lease(store, layout, key="cli-lease", run_id="manual__restore", drill="restore", backup_id=record["backup_id"])
    try:
        leased = {b["backup_id"]: b for b in json.loads(run("backups", "list", "shop", "--json").stdout)["backups"]}
    finally:
        release_lease(store, layout, "cli-lease")
    assert leased[record["backup_id"]]["lease"]["run_id"] == "manual__restore"

    verified = run("backups", "verify", "shop", record["backup_id"], "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["verified"] is True
    assert json.loads(verified.stdout)["kind"] == "attributes"

    history = run("history", "--target", "shop", "--json")
    assert record["backup_id"] in {d["backup_id"] for d in json.loads(history.stdout)["drills"]}
    summary = run("summary", "shop")
    assert "newest valid backup" in summary.stdout


def test_a_drill_asked_for_the_impossible_exits_2_and_is_still_recorded(sandbox) -> None:
    assert run("backup", "shop").returncode == 0
    cases = {"PITR_TARGET_BEFORE_BACKUP": ("pitr", "shop", "--to", "2001-01-01T00:00:00Z", "--json"),
             "CONFIG_INVALID": ("restore", "shop", "--disaster-at", "2001-01-01T00:00:00Z", "--json")}
    for code, argv in cases.items():
        done = run(*argv)
        record = json.loads(done.stdout)
        assert (done.returncode, record["verdict"]) == (2, "could_not_verify"), done.stdout[-2000:]
        assert [finding["code"] for finding in record["findings"]] == [code]
        history = json.loads(run("history", "--target", "shop", "--json").stdout)["drills"]
        assert record["run_id"] in {drill["run_id"] for drill in history}


def test_missing_connection_is_named_with_its_key_and_fix(sandbox) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_CONN_DRDRILL_SHOP_REPLICA"}
    done = run("config", "check", env=env)
    assert done.returncode == 2
    assert "targets[shop].replica_conn_id" in done.stdout and "drdrill_shop_replica" in done.stdout
    assert "airflow connections add" in done.stdout

    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_CONN_DRDRILL_SHOP_PRIMARY"}
    done = run("backup", "shop", env=env)
    assert done.returncode == 2
    assert "drdrill_shop_primary" in done.stderr and "Fix:" in done.stderr


def test_sandbox_up_reports_a_taken_port_clearly(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        env = {**os.environ, "DRDRILL_SANDBOX_DIR": str(tmp_path / "sb"), "DRDRILL_SANDBOX_PORT_BASE": str(taken - 1)}
        done = run("sandbox", "up", "--no-airflow", env=env)
    assert done.returncode == 2
    assert f"Port {taken}" in done.stderr and "already in use" in done.stderr and "Fix:" in done.stderr
    status = run("sandbox", "status", "--json", env=env)
    assert all(not c["running"] for c in json.loads(status.stdout)["components"])


def test_help_explains_the_commands() -> None:
    done = run("--help")
    assert done.returncode == 0
    commands = {line.split()[0] for line in done.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert {"sandbox", "backup", "restore", "pitr", "failover", "stream", "backups", "history", "rpo", "summary",
            "config"} <= commands


def test_a_target_that_signs_its_manifests_restores_with_its_key_and_refuses_another(sandbox, tmp_path) -> None:
    key, other = "cli-signing-key-" + "k" * 32, "cli-signing-key-" + "o" * 32
    config = tmp_path / "drills.yaml"
    config.write_text(sandbox.config_path.read_text().replace(
        "prefix: tests}", "prefix: tests-signed, manifest_signing_conn_id: drdrill_manifest_key}"))
    assert "manifest_signing_conn_id" in config.read_text()

    def env(password: str) -> dict[str, str]:
        return {**os.environ, "DRDRILL_CONFIG": str(config), "AIRFLOW_CONN_DRDRILL_MANIFEST_KEY": json.dumps(
            {"conn_type": "generic", "password": password})}

    done = run("backup", "shop", "--json", env=env(key))
    assert done.returncode == 0, done.stderr[-2000:]
    backup_id = json.loads(done.stdout)["backup_id"]
    listed = run("backups", "list", "shop", "--json", env=env(key))
    (entry,) = [b for b in json.loads(listed.stdout)["backups"] if b["backup_id"] == backup_id]
    assert (entry["status"], entry["seal"]) == ("valid", "signed")
    restored = run("restore", "shop", "--backup-id", backup_id, "--json", env=env(key))
    assert restored.returncode == 0 and json.loads(restored.stdout)["verdict"] == "passed", restored.stdout[-2000:]

    listed = run("backups", "list", "shop", "--json", env=env(other))
    (entry,) = [b for b in json.loads(listed.stdout)["backups"] if b["backup_id"] == backup_id]
    assert entry["status"] == "corrupt" and not entry["valid"] and "signature" in entry["problem"]
    refused = run("restore", "shop", "--backup-id", backup_id, "--json", env=env(other))
    assert refused.returncode == 1
    assert [f["code"] for f in json.loads(refused.stdout)["findings"]] == ["MANIFEST_CORRUPT"]
    verified = run("backups", "verify", "shop", backup_id, "--json", env=env(other))
    assert verified.returncode == 1 and json.loads(verified.stdout)["findings"][0]["code"] == "MANIFEST_CORRUPT"
    for output in (done, listed, restored, refused, verified):
        assert key not in output.stdout + output.stderr and other not in output.stdout + output.stderr
