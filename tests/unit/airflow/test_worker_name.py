"""``drdrill.airflow.worker_name``: the hostname Airflow records for a task, per stack worker."""

from __future__ import annotations

import socket

import pytest

from drdrill.airflow.worker_name import WORKER_NAME_ENV_VAR, worker_hostname

pytestmark = pytest.mark.unit


def test_a_stack_worker_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKER_NAME_ENV_VAR, "drdrill-worker-2")
    assert worker_hostname() == "drdrill-worker-2"


@pytest.mark.parametrize("value", [None, "", "  "])
def test_without_a_name_it_is_the_machines_fqdn(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(WORKER_NAME_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(WORKER_NAME_ENV_VAR, value)
    assert worker_hostname() == socket.getfqdn()
