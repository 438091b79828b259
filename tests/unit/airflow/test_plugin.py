"""``drdrill.airflow.plugin`` and ``plugins/drdrill_plugin.py``: the one module Airflow's plugin loader sees."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from airflow.plugins_manager import AirflowPlugin, _load_plugins_from_plugin_directory

import drdrill
from drdrill.airflow import plugin
from drdrill.airflow.plugin import DrdrillPlugin, registered_by_entry_point

pytestmark = pytest.mark.unit

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


def load_plugins(folder: Path) -> tuple[list[AirflowPlugin], dict[str, str]]:
    """What Airflow's loader finds in ``folder`` (each .py imported as a top-level module, .airflowignore obeyed)."""
    return _load_plugins_from_plugin_directory(plugins_folder=str(folder), load_examples=False,
                                               example_plugins_module=None, ignore_file_syntax="glob")


def test_the_plugin_is_named_drdrill_with_the_packages_version() -> None:
    assert issubclass(DrdrillPlugin, AirflowPlugin)
    assert (DrdrillPlugin.name, DrdrillPlugin.version) == ("drdrill", drdrill.__version__)


def test_the_installed_package_registers_the_plugin_through_its_entry_point() -> None:
    assert registered_by_entry_point()  # the checkout's editable install declares it, as the wheel does


@pytest.fixture
def no_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in an environment whose drdrill declares no ``airflow.plugins`` entry point."""
    monkeypatch.setattr(plugin, "registered_by_entry_point", lambda: False)


def test_the_plugins_folder_registers_the_plugin_only_without_the_entry_point(no_entry_point: None) -> None:
    plugins, errors = load_plugins(PLUGINS)
    assert errors == {}
    assert [(found.name, type(found)) for found in plugins] == [("drdrill", DrdrillPlugin)]


def test_with_the_entry_point_the_plugins_folder_registers_nothing() -> None:
    """Airflow loads the folder's plugins, then the entry points': both would be the plugin twice."""
    plugins, errors = load_plugins(PLUGINS)
    assert errors == {} and plugins == []


def test_the_ignore_file_keeps_stray_modules_out_of_the_loader(tmp_path: Path, no_entry_point: None) -> None:
    folder = tmp_path / "plugins"
    shutil.copytree(PLUGINS, folder)
    (folder / "daemon.py").write_text("raise RuntimeError('a stray module was imported as top-level daemon')\n")
    before = sys.modules.get("daemon")
    plugins, errors = load_plugins(folder)
    assert errors == {} and [plugin.name for plugin in plugins] == ["drdrill"]
    assert sys.modules.get("daemon") is before


def test_without_the_ignore_file_the_loader_would_import_the_stray_module(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(PLUGINS / "drdrill_plugin.py", folder)
    (folder / "stray_drdrill_module.py").write_text("raise RuntimeError('imported')\n")
    _, errors = load_plugins(folder)
    assert any("stray_drdrill_module.py" in source for source in errors)


def test_the_plugin_mounts_the_scorecard_and_shows_it_in_the_navigation() -> None:
    (app,) = DrdrillPlugin.fastapi_apps
    (view,) = DrdrillPlugin.external_views
    assert app["url_prefix"] == "/drdrill" and isinstance(app["app"], plugin.ScorecardApp)
    assert (view["href"], view["destination"], view["url_route"]) == ("drdrill/", "nav", "drdrill-scorecard")


def test_loading_the_plugin_leaves_the_api_servers_security_module_unimported() -> None:
    """Every task process loads the plugins; the scorecard's app (FastAPI, Airflow's auth) is built on first use."""
    import subprocess

    code = ("import sys, drdrill.airflow.plugin; "
            "print(sorted(m for m in ('airflow.api_fastapi.core_api.security', 'drdrill.scorecard.app') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
