"""No secret anywhere: every drill ``make demo`` runs, through Airflow, while a sampler watches every process; then
every place a run leaves text is searched for every password the sandbox knows.

The passwords: the sandbox's logins, the scratch servers' generated ones (read from their option files while they
run), the S3 secret key and the Slack webhook's token (both generated for this test). The places: argv and
environment of every process seen, the option files they named, task logs and ``airflow dags test`` output, the
Airflow metadata DB (XCom), the history DB, every S3 object, the Slack sink's record, the CLI's ``--json`` output and
the files left in the work directory. The exceptions where a secret legitimately sits are asserted one by one.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.sandbox.slack_sink import read_posts
from tests.helpers.failover_helpers import PRIMARY_CONN, finished_state, run_dag
from tests.helpers.secret_sweep import (
    ProcessSampler,
    bucket_objects,
    shimmed_processes,
    tool_shims,
    leaks_in,
    leaks_in_files,
    leaks_in_objects,
    leaks_in_processes,
    leaks_in_sqlite,
)

pytestmark = pytest.mark.integration
DRILLS = ("dr_backup__shop", "dr_binlog_archive__shop", "dr_rpo_monitor__shop", "dr_restore_drill__shop",
          "dr_pitr_drill__shop", "dr_failover_drill__shop")
CHILD_TOOLS = {"mariadb-dump", "mariadb-binlog", "mariadbd", "mariadb", "mariadb-install-db", "zstd"}  # each ran


def test_no_password_in_any_place_the_drills_leave_text(metastore_primary_connection, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    handle = metastore_primary_connection
    box = handle.sandbox
    settings = load_config().settings
    s3_secret, slack_token = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    slack_path = f"/services/sandbox/{slack_token}"
    given = {"AIRFLOW_CONN_DRDRILL_S3": json.dumps({"conn_type": "aws", "login": "testing", "password": s3_secret,
                                                    "extra": {"endpoint_url": box.s3_endpoint_url,
                                                              "region_name": "us-east-1"}}),
             "AIRFLOW_CONN_DRDRILL_SLACK": json.dumps({"conn_type": "slackwebhook",
                                                       "password": f"http://127.0.0.1:{box.ports.slack}{slack_path}"})}
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "drills.yaml"  # every drill posts to Slack, red or green
    config.write_text(handle.config_path.read_text().replace("on_success: false", "on_success: true"))
    posts_before = len(read_posts(box.slack_record))
    shims, records = tool_shims(tmp_path / "shims")
    path = os.environ["PATH"]

    sampler = ProcessSampler(os.getpid(), [f"{settings.work_dir}/scratch/*/admin.cnf"])
    monkeypatch.setenv("PATH", f"{shims}:{path}")
    sampler.start()
    runs = {}
    try:
        for dag_id in DRILLS:
            runs[dag_id] = run_dag(dag_id, config)
    finally:
        sampler.stop()
        monkeypatch.setenv("PATH", path)
    states = {dag_id: finished_state(done) for dag_id, done in runs.items()}
    assert states == dict.fromkeys(DRILLS, "success"), {d: runs[d].stdout[-2000:] for d in DRILLS if states[d] != "success"}

    known = {f"sandbox {name} login": value for name, value in box.secrets().items()}
    known |= {"S3 secret key": s3_secret, "Slack webhook token": slack_token}
    scratch = {f"password in {path}": password for password, path in sampler.file_passwords.items()
               if "/scratch/" in path}
    assert len(set(scratch.values())) >= 2, sampler.file_passwords  # the restore's and the PITR's scratch servers
    known |= scratch
    processes = [*sampler.processes.values(), *shimmed_processes(records)]
    seen_tools = {Path(argv[0]).name for process in processes for argv in process.argvs if argv}
    assert CHILD_TOOLS <= seen_tools, sorted(seen_tools)

    # Exception: Airflow's own processes hold the connections the test gives them through AIRFLOW_CONN_* (as a user
    # may); exactly those values, and no process other than the Airflow CLI (and its forks) has any.
    environment = dict(os.environ) | given
    for process in processes:
        given_here = {name for name in process.environ if name.startswith("AIRFLOW_CONN_")}
        if given_here:
            assert any(map(_is_airflow_cli, process.argvs)), f"{process.label()} has {sorted(given_here)}"
            assert all(process.environ[name] == environment[name] for name in given_here), process.label()
            for name in given_here:
                del process.environ[name]
    leaks = leaks_in_processes(known, processes)

    # Exception: option files a process named hold its login; each is 0600, ours, and gone once its tool is done
    # (the sandbox's heartbeat writer keeps its own while it runs).
    heartbeat_file = str(box.directory / "run" / "heartbeat.cnf")
    for option_file in sampler.option_files.values():
        if option_file.passwords:
            assert (option_file.mode, option_file.uid) == (0o600, os.getuid()), option_file
            assert option_file.path == heartbeat_file or not Path(option_file.path).exists(), option_file

    # The metastore holds the source connection (the failover drill redirects it) encrypted: no exception needed.
    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    with sqlite3.connect(f"file:{airflow_home / 'airflow.db'}?mode=ro", uri=True) as metastore:
        assert metastore.execute("SELECT is_encrypted FROM connection WHERE conn_id = ?",
                                 (PRIMARY_CONN,)).fetchone() == (1,)
    leaks += leaks_in_files(known, airflow_home)  # task logs, airflow.cfg, the metadata DB's raw pages
    for dag_id, done in runs.items():
        leaks += leaks_in(known, f"airflow dags test {dag_id} output", done.stdout + done.stderr)
    leaks += leaks_in_sqlite(known, airflow_home / "airflow.db", "Airflow metadata DB")
    leaks += leaks_in_sqlite(known, Path(handle.history_url.removeprefix("sqlite:///")), "history DB")
    objects = list(bucket_objects(box.s3_client(), "drdrill-backups"))
    names = {place.rsplit("/", 1)[-1] for place, _ in objects}
    assert {"manifest.json", "dump.sql.zst", "validation.json", "index.html", "proof.json", "evidence.json",
            "evidence.html"} <= names, sorted(names)  # index.html: the Data Docs
    assert any("/binlog/" in place and place.endswith(".zst") for place, _ in objects)
    leaks += leaks_in_objects(known, objects)

    # Exception: the Slack sink is the webhook's receiving end; the token is in the path it was called on, and only there.
    posts = read_posts(box.slack_record)
    assert len(posts) > posts_before and all(post["path"] == slack_path for post in posts[posts_before:])
    leaks += [leak for index, post in enumerate(posts)
              for leak in leaks_in(known, f"Slack post {index}", json.dumps({**post, "path": None}))]
    for argv in (["history", "--json"], ["backups", "list", "shop", "--json"]):
        done = subprocess.run([str(Path(sys.executable).parent / "drdrill"), *argv], capture_output=True, text=True,
                              env=environment | {"DRDRILL_CONFIG": str(config)}, timeout=120)
        assert done.returncode == 0 and json.loads(done.stdout), done.stderr[-2000:]
        leaks += leaks_in(known, f"drdrill {' '.join(argv)}", done.stdout + done.stderr)
    leaks += leaks_in_files(known, Path(settings.work_dir))
    assert not leaks, "\n".join(f"{leak.secret} in {leak.place}" for leak in leaks)


def _is_airflow_cli(argv: tuple[str, ...]) -> bool:
    """``<venv>/bin/python <venv>/bin/airflow …`` (or a fork of it that kept the argv). A process the sampler first saw
    as a fork of pytest, before it exec'ed the Airflow CLI, shows both argvs."""
    venv_bin = Path(sys.executable).parent.resolve()  # resolved: the venv may be reached through a symlink
    return any(Path(arg).name == "airflow" and Path(arg).parent.resolve() == venv_bin for arg in argv[:2])
