"""``drdrill.cli``: the command line's parsing, help, exit codes and the ``--json`` shapes that need no server.

Commands that run drills or read a bucket (backup, restore, pitr, failover, stream, backups, summary, sandbox up)
need the sandbox and are in ``tests/integration/test_cli.py`` and the drills' integration tests.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill import cli
from drdrill.config.schema import drills_json_schema
from drdrill.drill_kinds import drill_names
from drdrill.engines import ALIASES, engine_names
from drdrill.history import DrillRecord, RpoSample, record_drill, record_rpo_sample
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit

COMMANDS = ("sandbox", "stack", "backup", "restore", "pitr", "failover", "stream", "backups", "decrypt", "scratch", "history",
            "rpo", "summary", "evidence", "report", "config", "dags")


@pytest.fixture(autouse=True)
def process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``main`` sets Airflow defaults in the environment, SIGPIPE and its result stream: put them back afterwards."""
    saved_environment = dict(os.environ)
    saved_sigpipe = signal.getsignal(signal.SIGPIPE)
    monkeypatch.setattr(cli, "RESULT_STREAM", cli.RESULT_STREAM)
    yield
    signal.signal(signal.SIGPIPE, saved_sigpipe)
    os.environ.clear()
    os.environ.update(saved_environment)


@pytest.fixture
def drills_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_config(tmp_path)
    monkeypatch.setenv("DRDRILL_CONFIG", str(path))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``drdrill argv`` (argparse's own exits included)."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_main_puts_the_callers_sigpipe_handler_back(drills_yaml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # e.g. Python's own default; a test runner's pipes rely on it
    assert run(capsys, "history", "--json")[0] == cli.EXIT_OK
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN


def history_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/history.sqlite"


def test_help_lists_every_command_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    subparsers = next(action for action in cli.build_parser()._actions if action.dest == "command")
    assert tuple(subparsers.choices) == COMMANDS  # type: ignore[union-attr]
    listed = {line.split()[0]: line for line in out.splitlines() if line.startswith("    ") and line.split()}
    for command in COMMANDS:
        assert command in listed, f"{command} missing from --help"
        assert len(listed[command].split()) > 2, f"{command} has no summary in --help"
    assert "Exit codes: 0 ok/passed, 1 drill red, 2 error." in " ".join(out.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_a_json_flag(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and f"usage: drdrill {command}" in out and "--json" in out


@pytest.mark.parametrize(("argv", "message"), [
    ([], "the following arguments are required: COMMAND"),
    (["explode"], "invalid choice: 'explode'"),
    (["sandbox"], "the following arguments are required: action"),
    (["sandbox", "explode"], "argument action: invalid choice: 'explode'"),
    (["backup"], "the following arguments are required: target"),
    (["backup", "shop", "--engine", "pg_dump"], "argument --engine: invalid choice: 'pg_dump'"),
    (["history", "--drill", "restores"], "argument --drill: invalid choice: 'restores'"),
    (["history", "--limit", "ten"], "argument --limit: invalid int value: 'ten'"),
    (["restore", "shop", "--random-within-days", "7d"], "invalid int value: '7d'"),
    (["backups", "list"], "the following arguments are required: target"),
    (["config", "validate"], "argument action: invalid choice: 'validate'"),
    (["history", "--colour"], "unrecognized arguments: --colour"),
])
def test_bad_arguments_exit_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and out == ""


def test_choices_come_from_the_registries() -> None:
    parser = cli.build_parser()
    for engine in (*engine_names(), *ALIASES):
        assert parser.parse_args(["backup", "shop", "--engine", engine]).engine == engine
    for drill in drill_names():
        assert parser.parse_args(["history", "--drill", drill]).drill == drill
    assert parser.parse_args(["backups", "verify", "shop", "some-id", "--deep"]).deep is True
    assert parser.parse_args(["backup", "shop", "--deep-verify"]).deep_verify is True


def test_verify_without_a_backup_id_says_where_to_find_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "backups", "verify", "shop")
    assert code == 2 and out == ""
    assert "'backups verify' needs a backup id (see 'drdrill backups list TARGET')" in err


def test_fetch_needs_a_backup_id_and_a_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "backups", "fetch", "shop")
    assert (code, out) == (2, "") and "'backups fetch' needs a backup id" in err
    code, out, err = run(capsys, "backups", "fetch", "shop", "20261121T083012Z-a1b2c3")
    assert (code, out) == (2, "") and "'backups fetch' needs --to DIR: a new or empty directory" in err


@pytest.mark.usefixtures("drills_yaml")
def test_decrypt_for_a_target_without_a_client_side_key_names_the_key_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "decrypt", "shop")
    assert code == 2 and out == ""
    assert "targets[shop].storage.encryption.client_side_conn_id is null" in err and "Set it to the connection" in err


@pytest.mark.usefixtures("drills_yaml")
def test_history_json_lists_records_newest_first_with_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [DrillRecord(f"run{n}", "shop", drill, verdict, f"2026-12-0{n}T10:00:00+00:00", f"2026-12-0{n}T10:05:00+00:00",
                           stage_seconds={"restore": 12.5}, findings=findings)
               for n, drill, verdict, findings in [
                   (1, "backup", "passed", []),
                   (2, "restore", "failed", [{"code": "ROWCOUNT_MISMATCH", "message": "m", "fix": "f", "evidence": {}}])]]
    for record in records:
        record_drill(history_url(tmp_path), record)
    code, out, err = run(capsys, "history", "--json")
    assert code == 0
    assert json.loads(out) == {"drills": [records[1].to_dict(), records[0].to_dict()]}
    code, out, _ = run(capsys, "history", "--drill", "backup", "--json")
    assert [item["run_id"] for item in json.loads(out)["drills"]] == ["run1"]
    code, out, _ = run(capsys, "history", "--limit", "1")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["STARTED_AT", "TARGET", "DRILL", "VERDICT", "BACKUP_ID", "SECONDS", "RTO_S",
                                              "RPO_S", "FINDINGS"]
    assert lines[1].split() == ["2026-12-02T10:00:00", "shop", "restore", "failed", "12.5", "-", "-", "ROWCOUNT_MISMATCH"]


@pytest.mark.usefixtures("drills_yaml")
def test_evidence_verify_of_a_run_with_no_bundle_is_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evidence", "verify", "no-such-run", "--json")
    assert (code, json.loads(out)) == (2, {"run_id": "no-such-run", "bundles": []})


@pytest.mark.usefixtures("drills_yaml")
def test_an_empty_history_is_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "history", "--json")[:2] == (0, '{\n  "drills": []\n}\n')
    assert run(capsys, "history")[1] == "(none)\n"


@pytest.mark.usefixtures("drills_yaml")
def test_rpo_json_lists_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = RpoSample("shop", "2026-12-06T10:00:00+00:00", 3.0, 600.0, 900.0)
    record_rpo_sample(history_url(tmp_path), sample)
    code, out, _ = run(capsys, "rpo", "--target", "shop", "--json")
    assert code == 0 and json.loads(out) == {"samples": [sample.to_dict()]}


def test_sandbox_status_json_of_a_sandbox_that_never_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DRDRILL_SANDBOX_DIR", str(tmp_path / "sb"))
    code, out, _ = run(capsys, "sandbox", "status", "--json")
    state = json.loads(out)
    assert code == 0 and state["directory"] == str((tmp_path / "sb").resolve())
    assert [c["component"] for c in state["components"]] == ["mariadb primary", "mariadb replica", "s3", "slack",
                                                             "heartbeat"]
    assert not any(c["running"] for c in state["components"])
    assert set(state["connections"].values()) >= {"drdrill_shop_primary", "drdrill_s3"}


def config_check(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, "config", "check", "--file", str(path), "--json")
    return code, json.loads(out)


def test_config_check_json_passes_when_every_connection_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_PRIMARY", json.dumps({"conn_type": "mysql"}))
    monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_S3", json.dumps({"conn_type": "aws"}))
    assert config_check(capsys, path) == (0, {"file": str(path), "targets": ["shop"], "broken_targets": [],
                                              "problems": []})


def test_config_check_json_names_a_missing_connection_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_S3", json.dumps({"conn_type": "aws"}))
    monkeypatch.delenv("AIRFLOW_CONN_SHOP_PRIMARY", raising=False)
    code, payload = config_check(capsys, path)
    assert code == 2 and payload["targets"] == ["shop"]
    [problem] = payload["problems"]
    assert "targets[shop].source_conn_id" in problem and "shop_primary" in problem and "Fix:" in problem


def test_config_schema_prints_the_json_schema_of_the_drills_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (("config", "schema"), ("config", "schema", "--json")):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and json.loads(out) == drills_json_schema()
    assert json.loads(out)["$schema"].endswith("/draft/2020-12/schema")


@pytest.mark.usefixtures("drills_yaml")
def test_an_error_is_json_on_stdout_and_a_sentence_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "backup", "shopp", "--json")
    assert code == 2
    error = json.loads(out)
    assert set(error) == {"error", "fix"} and "no target named 'shopp'" in error["error"]
    assert error["fix"].startswith("Did you mean 'shop'?")
    assert err.startswith("error: ") and "no target named 'shopp'" in err


def test_a_missing_config_file_is_an_error_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DRDRILL_CONFIG", str(tmp_path / "nowhere.yaml"))
    code, out, err = run(capsys, "history")
    assert code == 2 and out == ""
    assert "nowhere.yaml" in err and "Fix:" in err


def test_config_check_names_each_broken_target_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path)
    good = path.read_text()
    typo = good[good.index("  - name: shop"):].replace("name: shop", "name: billing", 1)
    path.write_text(good + typo.replace("databases:", "databases: 5\n    dbs:", 1))
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_PRIMARY", json.dumps({"conn_type": "mysql"}))
    monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_S3", json.dumps({"conn_type": "aws"}))
    code, payload = config_check(capsys, path)
    assert code == 2 and payload["targets"] == ["shop"] and payload["broken_targets"] == ["billing"]
    [problem] = payload["problems"]
    assert "targets[billing]" in problem and "Fix:" in problem


@pytest.mark.parametrize(("argv", "field"), [
    (["restore", "shop", "--disaster-at", "2999-01-01T00:00:00Z"], "disaster_at"),
    (["pitr", "shop", "--to", "2999-01-01T00:00:00Z"], "target_time"),
], ids=["restore disaster", "pitr target"])
def test_a_time_in_the_future_is_bad_usage_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str], argv: list[str],
                                                          field: str) -> None:
    monkeypatch.setenv("DRDRILL_CONFIG", str(write_config(tmp_path)))
    code, _, err = run(capsys, *argv)
    assert code == 2 and f"error: {field} '2999-01-01T00:00:00Z' is in the future" in err and "Fix:" in err


@pytest.mark.unit
@pytest.mark.parametrize(("verdict", "codes", "expected"), [
    ("passed", [], 0), ("passed", ["ERRANT_TRANSACTIONS"], 0), ("failed", ["RPO_EXCEEDED"], 1),
    ("could_not_verify", ["TARGET_UNAVAILABLE"], 1), ("could_not_verify", ["CONFIG_INVALID"], 2),
    ("could_not_verify", ["PITR_TARGET_BEFORE_BACKUP", "RPO_EXCEEDED"], 2),
])
def test_a_drill_exits_0_when_green_2_when_asked_for_the_impossible_else_1(verdict: str, codes: list[str],
                                                                           expected: int) -> None:
    from drdrill.cli import drill_exit_code
    from drdrill.findings import Finding

    assert drill_exit_code(verdict, [Finding(code, "message") for code in codes]) == expected


def test_dags_install_json_is_idempotent_and_refuses_a_foreign_file(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    first, again = (run(capsys, "dags", "install", str(tmp_path), "--json") for _ in range(2))
    assert [(code, json.loads(out)["action"]) for code, out, _ in (first, again)] == [(0, "created"), (0, "unchanged")]
    assert json.loads(first[1])["file"] == str(tmp_path / "drdrill_dags.py") and "config" in json.loads(first[1])
    (tmp_path / "drdrill_dags.py").write_text("# someone else's DAG file\n")
    code, out, err = run(capsys, "dags", "install", str(tmp_path), "--json")
    assert code == 2 and "not written by drdrill" in json.loads(out)["error"] and "not written by drdrill" in err
    assert (tmp_path / "drdrill_dags.py").read_text() == "# someone else's DAG file\n"


@pytest.mark.usefixtures("drills_yaml")
def test_report_prints_the_summary_and_with_json_the_whole_report(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    started = datetime.now(timezone.utc) - timedelta(days=3)
    record_drill(history_url(tmp_path), DrillRecord("run1", "shop", "restore", "passed", started.isoformat(),
                                                    (started + timedelta(minutes=5)).isoformat(), rto_seconds=120.0,
                                                    rto_objective_seconds=1800.0))
    code, out, _ = run(capsys, "report", "--days", "2", "--json")
    assert code == 0 and json.loads(out)["fleet"]["drills_run"] == 0 and json.loads(out)["period"]["days"] == 2
    code, out, _ = run(capsys, "report", "--html", str(tmp_path / "report.html"))
    assert code == 0 and "1 target(s), 1 drills, pass rate 100%" in out and (tmp_path / "report.html").is_file()
