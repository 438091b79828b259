"""The Airflow settings drdrill's own commands use when the user has not set them (local, SQLite)."""

from __future__ import annotations

import os
from pathlib import Path

from drdrill.locations import project_root


def default_airflow_env(root: Path | None = None) -> dict[str, str]:
    """AIRFLOW_HOME under the project, its dags/ and plugins/, no examples, small parallelism."""
    base = root or project_root()
    return {
        "AIRFLOW_HOME": str(base / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(base / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(base / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
    }


def apply_default_airflow_env(root: Path | None = None) -> None:
    """Set each default only where the environment does not already have a value."""
    for key, value in default_airflow_env(root).items():
        os.environ.setdefault(key, value)
