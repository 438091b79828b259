"""``drdrill.airflow.rest_api``: the API's base URL from a connection, and a clear error when it cannot be reached
(the redirect through a real API server is in tests/cluster)."""

from __future__ import annotations

import pytest

from drdrill.airflow.rest_api import api_token, base_url
from drdrill.errors import DrdrillError
from drdrill.ports import find_free_port

pytestmark = pytest.mark.unit


def test_the_base_url_is_the_hosts_url_or_built_from_scheme_host_and_port() -> None:
    assert base_url("http://127.0.0.1:8080/", None, None) == "http://127.0.0.1:8080"
    assert base_url("airflow.internal", 8443, "https") == "https://airflow.internal:8443"
    assert base_url("airflow", None, None) == "http://airflow"


def test_an_api_that_cannot_be_reached_names_the_setting_and_never_the_password() -> None:
    with pytest.raises(DrdrillError) as failed:
        api_token(f"http://127.0.0.1:{find_free_port()}", "admin", "s3cret-pw")
    assert "cannot be reached" in str(failed.value) and "settings.airflow_api_conn_id" in failed.value.fix
    assert "s3cret-pw" not in str(failed.value) + failed.value.fix
