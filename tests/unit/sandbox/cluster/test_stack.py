"""``drdrill.sandbox.cluster.stack``: the stack's settings, environments, configs and secrets, with nothing started.

Starting and stopping it, the API, the workers' names and placement are in ``tests/cluster``.
"""

from __future__ import annotations

import configparser
import stat
import sys
from pathlib import Path

import pytest
import yaml

from drdrill.sandbox.cluster.stack import HEARTBEAT_TIMEOUT_SECONDS, WORKERS, ClusterStack, StackPorts

pytestmark = pytest.mark.unit


@pytest.fixture
def stack(tmp_path: Path) -> ClusterStack:
    base = tmp_path / "drills.yaml"
    base.write_text(yaml.safe_dump({"settings": {"default_owner": "dba", "work_dir": "/elsewhere"},
                                    "targets": [{"name": "shop"}]}))
    return ClusterStack(directory=tmp_path / "stack", port_base=24700, connections={}, base_config=base)


def test_ports_follow_the_base(stack: ClusterStack) -> None:
    assert stack.ports == StackPorts(24701, 24702, 24703)
    assert stack.api_url == "http://127.0.0.1:24703"


def test_airflow_runs_celery_on_the_stacks_postgres_and_redis_with_short_intervals(stack: ClusterStack) -> None:
    settings = stack.airflow_settings()
    assert settings["core"]["executor"] == "CeleryExecutor"
    assert settings["core"]["hostname_callable"] == "drdrill.airflow.worker_name.worker_hostname"
    assert settings["core"]["execution_api_server_url"] == "http://127.0.0.1:24703/execution/"
    assert settings["database"]["sql_alchemy_conn"].startswith("postgresql+psycopg2://drdrill@/airflow?host=")
    assert settings["celery"]["broker_url"] == "redis://127.0.0.1:24702/0"
    assert settings["scheduler"]["task_instance_heartbeat_timeout"] == str(HEARTBEAT_TIMEOUT_SECONDS)
    assert settings["api"]["port"] == "24703" and settings["api"]["host"] == "127.0.0.1"


def test_airflow_cfg_and_secrets_are_private_and_reused(stack: ClusterStack) -> None:
    stack.write_airflow_cfg()
    first = stack.secrets()
    assert stack.secrets() == first
    for path in (stack.directory / "secrets.json", stack.airflow_home / "airflow.cfg", stack.directory / "api-passwords.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(stack.airflow_home / "airflow.cfg")
    assert parser["api_auth"]["jwt_secret"] == first["jwt_secret"]  # one secret for every component


def test_each_worker_has_its_own_work_dir_and_all_record_history_in_the_stacks_postgres(stack: ClusterStack) -> None:
    stack.write_configs()
    configs = {name: yaml.safe_load(stack.config_path(name).read_text()) for name in ("services", *WORKERS)}
    work_dirs = {config["settings"]["work_dir"] for config in configs.values()}
    assert len(work_dirs) == 3 and all(path.startswith(str(stack.directory)) for path in work_dirs)
    assert {config["settings"]["history_url"] for config in configs.values()} == {stack.history_url}
    assert all(config["settings"]["pools"] == {"backup": "drdrill_backup", "recovery": "drdrill_recovery"}
               for config in configs.values())  # the pools the stack creates (tests/cluster checks their use)
    assert all(config["settings"]["default_owner"] == "dba" and config["targets"] == [{"name": "shop"}]
               for config in configs.values())


def test_components_get_the_stacks_airflow_not_the_callers(stack: ClusterStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_S3", "aws://x:y@")
    monkeypatch.setenv("DRDRILL_WORKER_NAME", "leaked")
    service, worker = stack.environment("scheduler"), stack.environment(WORKERS[1])
    for env in (service, worker):
        assert "AIRFLOW__CORE__EXECUTOR" not in env and "AIRFLOW_CONN_DRDRILL_S3" not in env
        assert env["AIRFLOW_HOME"] == str(stack.airflow_home)
        assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)  # Airflow starts parts as bare `airflow`
    assert "DRDRILL_WORKER_NAME" not in service and worker["DRDRILL_WORKER_NAME"] == WORKERS[1]
    assert worker["DRDRILL_CONFIG"] == str(stack.config_path(WORKERS[1]))
    assert service["DRDRILL_CONFIG"] == str(stack.config_path("services"))


def test_nothing_started_means_nothing_runs_and_down_is_idempotent(stack: ClusterStack) -> None:
    stack.down()
    stack.down()
    state = stack.status()
    assert not any(component["running"] for component in state["components"])
    assert state["api_healthy"] is False and state["workers_registered"] == []
    assert [c["component"] for c in state["components"]] == ["postgres", "redis", "api-server", "scheduler",
                                                             "dag-processor", "triggerer", *WORKERS]
