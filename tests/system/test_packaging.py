"""drdrill installs as a package: Airflow's plugin loader sees one registration module, never the library.

Airflow imports every ``.py`` under its plugins folder as a top-level module named after the file; with
the library there, ``import daemon`` (python-daemon, which Airflow uses) got ``drdrill/daemon.py``. These
tests run real Airflow commands in their own processes, as a user's Airflow would (the wheel itself:
``test_wheel_install.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
LIBRARY_NAMES = ("daemon", "config", "cli", "mariadb", "errors", "backup", "restore", "drdrill")


def _airflow(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([AIRFLOW, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR", **env})
    assert done.returncode == 0, f"airflow {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def _plugins(plugins_folder: Path) -> list[dict]:
    done = _airflow(["plugins", "-o", "json"], AIRFLOW__CORE__PLUGINS_FOLDER=str(plugins_folder))
    return json.loads(done.stdout[done.stdout.index("["):])


@pytest.mark.integration
def test_airflow_plugins_lists_drdrill_once_and_none_of_its_modules() -> None:
    plugins = _plugins(ROOT / "plugins")  # the checkout's editable install registers it; the folder stands aside
    assert [plugin["name"] for plugin in plugins] == ["drdrill"]
    assert "drdrill.airflow.plugin:DrdrillPlugin" in plugins[0]["source"]


@pytest.mark.integration
def test_a_stray_module_in_the_plugins_folder_is_not_imported(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    shutil.copytree(ROOT / "plugins", folder)
    (folder / "daemon.py").write_text("raise SystemExit('the plugin loader imported a stray daemon.py')\n")
    (folder / "lib").mkdir()
    (folder / "lib" / "config.py").write_text("raise SystemExit('the plugin loader walked into lib/')\n")
    assert [plugin["name"] for plugin in _plugins(folder)] == ["drdrill"]

    (folder / ".airflowignore").unlink()  # the check can fail: without the ignore file the loader imports it
    done = subprocess.run([AIRFLOW, "plugins", "-o", "json"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(folder)})
    assert "stray daemon.py" in done.stdout + done.stderr or done.returncode != 0


@pytest.mark.integration
def test_inside_a_task_daemon_is_python_daemon_and_no_library_module_is_top_level(airflow_db: Path, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    report = tmp_path / "modules.json"
    (dags / "where_is_daemon.py").write_text(textwrap.dedent(f'''
        import json, sys
        from airflow.sdk import dag, task
        import pendulum

        @dag(dag_id="where_is_daemon", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False)
        def where_is_daemon():
            @task
            def look():
                import daemon
                from airflow import plugins_manager
                plugins_manager.get_plugins() if hasattr(plugins_manager, "get_plugins") else None
                top = {{name: getattr(sys.modules[name], "__file__", None)
                       for name in {LIBRARY_NAMES!r} if name in sys.modules}}
                open({str(report)!r}, "w").write(json.dumps({{"daemon": daemon.__file__, "top_level": top}}))
            look()

        where_is_daemon()
    '''))
    _airflow(["dags", "test", "where_is_daemon"], AIRFLOW__CORE__DAGS_FOLDER=str(dags),
             AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"))
    seen = json.loads(report.read_text())
    assert seen["daemon"].endswith("site-packages/daemon/__init__.py"), seen
    library = Path(__import__("drdrill").__file__).resolve().parent
    assert not [name for name, path in seen["top_level"].items()
                if name != "drdrill" and path and library in Path(path).resolve().parents], seen

