"""The environment external tools run with: the worker's, minus anything that can carry a secret."""

from __future__ import annotations

import os

SECRET_PREFIXES = ("AIRFLOW_CONN_", "AIRFLOW_VAR_", "AWS_SECRET", "AWS_SESSION_TOKEN", "MYSQL_PWD", "DRDRILL_SECRET")


def tool_environment() -> dict[str, str]:
    """A copy of os.environ without connection URIs, variables or passwords (tools get those from option files)."""
    return {key: value for key, value in os.environ.items() if not key.startswith(SECRET_PREFIXES)}
