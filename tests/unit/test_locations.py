"""Where drdrill finds the user's project and config: never from where the package is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill import locations


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("DRDRILL_CONFIG", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.mark.unit
def test_the_dags_folders_parent_is_the_project(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "proj" / "dags"))
    assert locations.project_root() == (tmp_path / "proj").resolve()
    assert locations.default_config_path() == (tmp_path / "proj").resolve() / "include" / "drills.yaml"


@pytest.mark.unit
def test_drdrill_config_wins(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "proj" / "dags"))
    clean_env.setenv("DRDRILL_CONFIG", str(tmp_path / "elsewhere.yaml"))
    assert locations.default_config_path() == tmp_path / "elsewhere.yaml"


@pytest.mark.unit
def test_a_project_in_the_working_directory(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "drills.yaml").write_text("targets: []\n")
    clean_env.setenv("AIRFLOW_HOME", str(tmp_path / "airflow-home"))
    assert locations.project_root() == tmp_path


@pytest.mark.unit
def test_airflow_home_when_nothing_else_says(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("AIRFLOW_HOME", str(tmp_path / "airflow-home"))
    assert locations.project_root() == (tmp_path / "airflow-home").resolve()
    assert Path(locations.__file__).resolve().parents[1] not in locations.default_config_path().parents
