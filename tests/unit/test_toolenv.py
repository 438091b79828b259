"""``drdrill.toolenv``: external tools run with the worker's environment minus anything that carries a secret."""

from __future__ import annotations

import os
import subprocess

import pytest

from drdrill.toolenv import tool_environment

pytestmark = pytest.mark.unit

SECRETS = {
    "AIRFLOW_CONN_DRDRILL_SHOP_PRIMARY": '{"conn_type": "mysql", "password": "conn-secret"}',
    "AIRFLOW_VAR_API_TOKEN": "var-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "AWS_SESSION_TOKEN": "aws-token",
    "MYSQL_PWD": "mysql-secret",
    "DRDRILL_SECRET_SLACK": "drdrill-secret",
}
KEPT = {"DRDRILL_TEST_PLAIN": "kept", "AWS_DEFAULT_REGION": "eu-west-1", "AIRFLOW_HOME": "/opt/airflow"}


@pytest.fixture
def worker_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SECRETS, **KEPT}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("worker_environment")
def test_secret_carrying_variables_are_dropped_and_the_rest_kept() -> None:
    env = tool_environment()
    assert not set(SECRETS) & set(env)
    assert {name: env[name] for name in KEPT} == KEPT
    assert env["PATH"] == os.environ["PATH"]


@pytest.mark.usefixtures("worker_environment")
def test_the_workers_own_environment_is_left_alone() -> None:
    tool_environment()["DRDRILL_TEST_PLAIN"] = "changed"
    assert all(os.environ[name] == value for name, value in {**SECRETS, **KEPT}.items())


@pytest.mark.usefixtures("worker_environment")
def test_a_tool_started_with_it_sees_none_of_the_secrets() -> None:
    seen = subprocess.run(["env"], env=tool_environment(), capture_output=True, text=True, check=True).stdout
    for name, value in SECRETS.items():
        assert name not in seen and value not in seen
    assert "DRDRILL_TEST_PLAIN=kept" in seen
