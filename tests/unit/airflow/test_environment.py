"""``drdrill.airflow.environment``: the Airflow settings drdrill's commands use when the user set none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drdrill.airflow.environment import apply_default_airflow_env, default_airflow_env

pytestmark = pytest.mark.unit

KEYS = ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER", "AIRFLOW__CORE__LOAD_EXAMPLES",
        "AIRFLOW__CORE__PARALLELISM")


def test_defaults_live_under_the_project(tmp_path: Path) -> None:
    assert default_airflow_env(tmp_path) == {
        "AIRFLOW_HOME": str(tmp_path / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(tmp_path / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
    }


def test_without_a_root_the_project_is_the_dags_folders_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "project" / "dags"))
    assert default_airflow_env()["AIRFLOW_HOME"] == str(tmp_path / "project" / ".airflow")


def test_apply_sets_only_what_the_user_has_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", "/srv/airflow")
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "32")
    apply_default_airflow_env(tmp_path)
    assert os.environ["AIRFLOW_HOME"] == "/srv/airflow" and os.environ["AIRFLOW__CORE__PARALLELISM"] == "32"
    assert os.environ["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")
    assert os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(tmp_path / "plugins")
    assert os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
