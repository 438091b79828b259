"""drdrill installed from its wheel into an Airflow outside the checkout: DAGs, plugin, config, real drills.

The new virtualenv "has Airflow" cheaply: a ``.pth`` file points at a view of this test run's site-packages
without drdrill (its editable install stays invisible), and the wheel is installed into the new venv.
Every command runs with a fresh ``AIRFLOW_HOME`` (DAGs and plugins folders inside it), the working directory
outside the checkout and no ``PYTHONPATH``; a ``.pth`` hook reports where the drill's process imported drdrill from
(``airflow dags test`` runs the tasks in its own process).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from drdrill.history import list_drills
from tests.helpers.readme import shell_block

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = "drdrill.airflow.plugin:DrdrillPlugin"
IMPORT_REPORT = textwrap.dedent("""
    # With $IMPORT_REPORT set, the process writes where each drdrill module came from there as it exits.
    import atexit, json, os, sys

    def _report(path=os.environ.get("IMPORT_REPORT")):
        with open(path, "w") as out:
            json.dump({name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())
                       if name.split(".")[0] == "drdrill"}, out)

    if os.environ.get("IMPORT_REPORT"):
        atexit.register(_report)
""")


@dataclass(frozen=True)
class AirflowVenv:
    """A virtualenv outside the checkout with its own Airflow home."""

    venv: Path
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """This test run's environment without Airflow, Python and drdrill settings, plus the new home's."""
        kept = {key: value for key, value in os.environ.items()
                if not key.startswith(("AIRFLOW", "PYTHON", "VIRTUAL_ENV", "DRDRILL"))}
        connections = {key: value for key, value in os.environ.items() if key.startswith("AIRFLOW_CONN_")}
        return {**kept, **connections, "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                "AIRFLOW_HOME": str(self.home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR", **extra}

    def run(self, command: str, *args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
        """``command`` from the venv's bin/, in the Airflow home."""
        done = subprocess.run([str(self.venv / "bin" / command), *args], capture_output=True, text=True, timeout=300,
                              cwd=self.home, env=self.env(**extra))
        if check:
            assert done.returncode == 0, f"{command} {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    def plugins(self, **extra: str) -> list[dict]:
        """``airflow plugins -o json`` (the home's plugins folder is a copy of the checkout's)."""
        listed = self.run("airflow", "plugins", "-o", "json", **extra).stdout
        return json.loads(listed[listed.index("["):]) if "[" in listed else []


def make_airflow_venv(directory: Path) -> AirflowVenv:
    """``python -m venv``, Airflow through a view of this run's site-packages, an ``airflow`` script, a fresh home
    (its own migrated metadata DB, a copy of the checkout's plugins folder) and an empty DAGs folder."""
    venv, view, home = directory / "venv", directory / "site-view", directory / "airflow-home"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    view.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("drdrill", "__editable__")) and entry.suffix != ".pth":
            (view / entry.name).symlink_to(entry)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "airflow_from_the_test_run.pth").write_text(f"{view}\n")
    script = (Path(sys.executable).parent / "airflow").read_text().splitlines()[1:]  # as pip writes it, new shebang
    (venv / "bin" / "airflow").write_text("\n".join([f"#!{venv / 'bin' / 'python'}", *script]) + "\n")
    (venv / "bin" / "airflow").chmod(0o755)
    (purelib / "drdrill_import_report.py").write_text(IMPORT_REPORT)
    (purelib / "drdrill_import_report.pth").write_text("import drdrill_import_report\n")
    (home / "dags").mkdir(parents=True)
    shutil.copytree(ROOT / "plugins", home / "plugins")
    airflow = AirflowVenv(venv, home)
    airflow.run("airflow", "db", "migrate")  # its own metadata DB: a copy would know the checkout's DAG files
    return airflow


def readme_deploy_commands() -> tuple[str, str]:
    """The README's Deploy block as its two scripts: the build (its first line, in the checkout) and the rest,
    which runs in the Airflow's virtualenv."""
    build, *install = shell_block("Deploy drdrill into your Airflow")
    assert build.startswith(".venv/bin/python -m pip wheel "), build
    return build, "\n".join(install)


def run_script(script: str, cwd: Path, env: dict[str, str]) -> str:
    """``script`` in bash, stopping at the first failing command; its output."""
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)
    assert done.returncode == 0, f"{script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built by the README's own command (into a temporary ``dist``)."""
    dist = tmp_path_factory.mktemp("dist")
    build, _ = readme_deploy_commands()
    egg_info = ROOT / "src" / "drdrill.egg-info"  # setuptools' by-product: on sys.path, Airflow sees the plugin twice
    made_here = not egg_info.exists()
    try:
        run_script(build.replace(".venv/bin/python", sys.executable).replace(" dist ", f" {dist} "), ROOT,
                   {**os.environ, "PIP_QUIET": "1"})
    finally:
        if made_here:
            shutil.rmtree(egg_info, ignore_errors=True)
    (built,) = dist.glob("drdrill-*.whl")
    return built


@dataclass(frozen=True)
class Deployed:
    """The Airflow venv after the README's install commands ran in it, and what they printed."""

    airflow: AirflowVenv
    output: str


@pytest.fixture(scope="module")
def deployed(wheel: Path, sandbox, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    """The README's install commands, run in a new Airflow venv with only paths substituted: the wheel and the
    constraints file where this run has them, the sandbox's config for ``/etc/drdrill/drills.yaml``, and ``pip``
    as this run's pip installing into the venv (which has none of its own; the view satisfies the dependencies,
    so pip installs drdrill alone)."""
    airflow = make_airflow_venv(tmp_path_factory.mktemp("installed"))
    _, install = readme_deploy_commands()
    script = (install.replace("pip install", f"{sys.executable} -m pip --python {airflow.venv / 'bin' / 'python'} install")
              .replace("constraints.txt", str(ROOT / "constraints.txt"))
              .replace(f"dist/{wheel.name}", str(wheel))
              .replace("/etc/drdrill/drills.yaml", str(sandbox.config_path)))
    assert str(wheel) in script, f"the README installs another wheel than {wheel.name}"
    return Deployed(airflow, run_script(script, airflow.home, airflow.env(PIP_QUIET="1")))


def test_the_wheel_carries_the_dags_the_plugin_entry_point_and_the_package_data(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert {"drdrill/checks/expectations/restore_drill.yaml", "drdrill/scorecard/page.html"} <= set(names)
    assert {f"drdrill/dags/{kind}.py" for kind in ("backup", "restore", "pitr", "failover", "install")} <= set(names)
    assert not [name for name in names if name.startswith(("plugins/", "tests/", "dags/", "include/"))]
    entry_points = archive.read(next(name for name in names if name.endswith(".dist-info/entry_points.txt"))).decode()
    assert "[airflow.plugins]" in entry_points and ENTRY_POINT in entry_points


def test_without_the_entry_point_the_plugins_folder_registers_drdrill(tmp_path: Path) -> None:
    """A drdrill without package metadata (the library's source on PYTHONPATH, no ``*.egg-info`` beside it):
    ``plugins/drdrill_plugin.py`` registers the plugin, once."""
    bare = make_airflow_venv(tmp_path / "bare")
    shutil.copytree(ROOT / "src" / "drdrill", tmp_path / "source" / "drdrill",
                    ignore=shutil.ignore_patterns("__pycache__"))
    plugins = bare.plugins(PYTHONPATH=str(tmp_path / "source"))
    assert [(plugin["name"], plugin["source"]) for plugin in plugins] == [("drdrill", "$PLUGINS_FOLDER/drdrill_plugin.py")]


def test_the_readme_commands_install_drdrill_whose_dags_plugin_and_drills_come_from_the_wheel(
        deployed: Deployed, sandbox) -> None:
    installed, dags_folder = deployed.airflow, deployed.airflow.home / "dags"
    assert "1 target(s) (shop); all connections exist." in deployed.output  # drdrill config check
    assert f"created: {dags_folder / 'drdrill_dags.py'}" in deployed.output  # the dags_folder it was given
    assert ENTRY_POINT in deployed.output and "dr_backup__shop" in deployed.output  # airflow plugins, dags list
    assert '"Resource": "arn:aws:s3:::drdrill-backups/drdrill/*"' in deployed.output  # the policy, from package data
    config = {"DRDRILL_CONFIG": str(sandbox.config_path)}
    missing = installed.run("drdrill", "config", "check", "--json", check=False)
    assert missing.returncode == 2 and "DRDRILL_CONFIG" in json.loads(missing.stdout)["fix"]
    assert str(installed.home / "include" / "drills.yaml") in json.loads(missing.stdout)["error"]  # not site-packages
    again = json.loads(installed.run("drdrill", "dags", "install", str(dags_folder), "--json", **config).stdout)
    assert (again["action"], again["config"]) == ("unchanged", str(sandbox.config_path))
    plugins = installed.plugins()
    assert [plugin["name"] for plugin in plugins] == ["drdrill"]  # the folder's drdrill_plugin.py stood aside
    assert ENTRY_POINT in plugins[0]["source"]
    assert [(app["url_prefix"], app["app"]) for app in plugins[0]["fastapi_apps"]] == [
        ("/drdrill", "drdrill.airflow.plugin.ScorecardApp")]
    assert [view["url_route"] for view in plugins[0]["external_views"]] == ["drdrill-scorecard"]
    listed = installed.run("airflow", "dags", "list", "--local", "-o", "json", **config).stdout
    dags = {dag["dag_id"]: dag for dag in json.loads(listed[listed.index("["):])}
    assert {"dr_backup__shop", "dr_restore_drill__shop", "dr_pitr_drill__shop", "dr_binlog_archive__shop",
            "dr_rpo_monitor__shop", "dr_failover_drill__shop"} <= set(dags)
    assert dags["dr_backup__shop"]["fileloc"] == str(dags_folder / "drdrill_dags.py")

    before = {record.run_id for record in list_drills(sandbox.history_url, "shop", limit=200)}
    report = installed.home / "imported.json"
    installed.run("airflow", "dags", "test", "dr_backup__shop", **config)
    installed.run("airflow", "dags", "test", "dr_restore_drill__shop", IMPORT_REPORT=str(report), **config)
    backup, restore = (next(record for record in list_drills(sandbox.history_url, "shop", drill, limit=5)
                            if record.run_id not in before) for drill in ("backup", "restore"))
    assert (backup.verdict, restore.verdict) == ("passed", "passed"), (backup.findings, restore.findings)
    assert restore.backup_id == backup.backup_id
    imported = json.loads(report.read_text())  # dags test runs the tasks in its own process
    assert {"drdrill.dags.restore", "drdrill.drills.restore.tasks", "drdrill.checks"} <= set(imported)
    assert all(Path(path).is_relative_to(installed.venv) for path in imported.values() if path), imported
