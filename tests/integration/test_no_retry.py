"""A login the server refuses fails the Airflow task at once: retrying a wrong password only delays the verdict."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from drdrill.airflow.runtime import FINDINGS_KEY, run_step
from tests.helpers.airflow_context import context_of

pytestmark = pytest.mark.integration


def test_a_refused_login_is_not_retried(sandbox) -> None:
    wrong = dataclasses.replace(sandbox.sandbox.backup_endpoint(), password="not-the-password")
    store: dict[tuple[str, str], Any] = {}
    with pytest.raises(AirflowFailException, match="not retried") as failed:
        run_step(context_of("select_backup", store), lambda: wrong.connect().close())
    assert "1045" in str(failed.value) and "not-the-password" not in str(failed.value)
    assert store[("select_backup", FINDINGS_KEY)][0]["code"] == "COULD_NOT_VERIFY"
