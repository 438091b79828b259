"""``drdrill.dags.install``: the one DAG file in an Airflow DAGs folder, written once, never over a foreign file."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.dags.install import CONTENT, FILE_NAME, HEADER, install_dag_file
from drdrill.errors import DrdrillError

pytestmark = pytest.mark.unit


def test_installs_once_then_leaves_it_unchanged(tmp_path: Path) -> None:
    assert install_dag_file(tmp_path) == {"file": str(tmp_path / FILE_NAME), "action": "created"}
    assert install_dag_file(tmp_path)["action"] == "unchanged"
    assert (tmp_path / FILE_NAME).read_text() == CONTENT and [p.name for p in tmp_path.iterdir()] == [FILE_NAME]


def test_the_file_survives_airflows_safe_mode_and_calls_the_factory(tmp_path: Path) -> None:
    from airflow.utils.file import might_contain_dag

    install_dag_file(tmp_path)
    assert might_contain_dag(str(tmp_path / FILE_NAME), safe_mode=True)
    assert "DAGS = all_dags()" in CONTENT
    (tmp_path / "other.py").write_text("print('neither word')\n")  # the check can fail: safe mode skips this one
    assert not might_contain_dag(str(tmp_path / "other.py"), safe_mode=True)


def test_an_older_file_of_ours_is_updated(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text(f"{HEADER}: an older version\nDAGS = {{}}\n")
    assert install_dag_file(tmp_path)["action"] == "updated"
    assert (tmp_path / FILE_NAME).read_text() == CONTENT


def test_a_foreign_file_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("from airflow.sdk import dag  # the user's own\n")
    with pytest.raises(DrdrillError, match="not written by drdrill"):
        install_dag_file(tmp_path)
    assert (tmp_path / FILE_NAME).read_text() == "from airflow.sdk import dag  # the user's own\n"


def test_a_missing_folder_is_an_error_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DrdrillError, match="not a directory") as raised:
        install_dag_file(tmp_path / "dags")
    assert "dags_folder" in str(raised.value) and not (tmp_path / "dags").exists()
