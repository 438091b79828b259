"""Pure logic of backups: findings and verdicts, drill records, tool environments, binlog SQL commands."""

from __future__ import annotations

import pytest

from drdrill.findings import COULD_NOT_VERIFY, FAILED, PASSED, DrillFailed, Finding, verdict_of
from drdrill.drills.record import build_record
from drdrill.toolenv import tool_environment

pytestmark = pytest.mark.unit


def test_verdict_order_and_unknown_codes() -> None:
    assert verdict_of([]) == PASSED
    assert verdict_of([Finding("TARGET_UNAVAILABLE", "x")]) == COULD_NOT_VERIFY
    assert verdict_of([Finding("TARGET_UNAVAILABLE", "x"), Finding("ARTEFACT_CORRUPT", "y")]) == FAILED
    assert Finding("ARTEFACT_CORRUPT", "y").fix  # every code carries a default fix
    with pytest.raises(ValueError):
        Finding("NOT_A_CODE", "x")
    failed = DrillFailed([Finding("ARTEFACT_CORRUPT", "bad")])
    assert failed.verdict == FAILED and "ARTEFACT_CORRUPT: bad Fix:" in str(failed)


def test_a_step_that_vanished_without_a_finding_is_not_a_pass() -> None:
    steps = ["preflight", "dump_and_upload", "verify"]
    record, findings = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=steps,
                                    results={"preflight": {"seconds": 1}}, findings_by_step={})
    assert record.verdict == COULD_NOT_VERIFY
    assert [f.evidence["step"] for f in findings] == ["dump_and_upload"]
    record, findings = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=steps,
                                    results={}, findings_by_step={"preflight": [Finding("TARGET_UNAVAILABLE", "x")]})
    assert [f.code for f in findings] == ["TARGET_UNAVAILABLE"] and record.details["failed_steps"] == ["preflight"]
    record, _ = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=steps,
                             results={s: {"seconds": 1} for s in steps}, findings_by_step={})
    assert record.verdict == PASSED and record.stage_seconds == {s: 1.0 for s in steps}


def test_tool_environment_drops_secrets(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_X", "mysql://u:secret@h")
    monkeypatch.setenv("MYSQL_PWD", "secret")
    monkeypatch.setenv("PATH", "/usr/bin")
    env = tool_environment()
    assert "AIRFLOW_CONN_X" not in env and "MYSQL_PWD" not in env and env["PATH"] == "/usr/bin"


def test_binlog_sql_command_filters_every_target_database_and_nothing_else() -> None:
    from drdrill.engines.binlog_sql import binlog_sql_command

    base = ["mariadb-binlog", "--defaults-extra-file=/run/x.cnf", "--start-position=4"]
    assert binlog_sql_command(base, ["shop"], ["a.000001"]) == [*base, "--database=shop", "a.000001"]
    shell = binlog_sql_command(base, ["shop", "my db"], ["a.000001", "a.000002"])
    assert shell[:2] == ["bash", "-c"] and shell[2].startswith("set -e; ")
    assert "--database=shop a.000001 a.000002; " in shell[2] and "'--database=my db' a.000001 a.000002" in shell[2]
    with pytest.raises(ValueError):
        binlog_sql_command(base, [], ["a.000001"])
