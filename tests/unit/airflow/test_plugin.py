"""``drdrill.airflow.plugin`` and ``plugins/drdrill_plugin.py``: the one module Airflow's plugin loader sees."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
from airflow.plugins_manager import AirflowPlugin, _load_plugins_from_plugin_directory

import drdrill
from drdrill.airflow.plugin import DrdrillPlugin

pytestmark = pytest.mark.unit

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


def load_plugins(folder: Path) -> tuple[list[AirflowPlugin], dict[str, str]]:
    """What Airflow's loader finds in ``folder`` (each .py imported as a top-level module, .airflowignore obeyed)."""
    return _load_plugins_from_plugin_directory(plugins_folder=str(folder), load_examples=False,
                                               example_plugins_module=None, ignore_file_syntax="glob")


def test_the_plugin_is_named_drdrill_with_the_packages_version() -> None:
    assert issubclass(DrdrillPlugin, AirflowPlugin)
    assert (DrdrillPlugin.name, DrdrillPlugin.version) == ("drdrill", drdrill.__version__)


def test_importing_the_plugin_module_finds_the_plugin_class() -> None:
    spec = importlib.util.spec_from_file_location("drdrill_plugin_under_test", PLUGINS / "drdrill_plugin.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DrdrillPlugin is DrdrillPlugin
    assert module.__all__ == ["DrdrillPlugin"]


def test_airflows_loader_finds_only_the_drdrill_plugin() -> None:
    plugins, errors = load_plugins(PLUGINS)
    assert errors == {}
    assert [(plugin.name, type(plugin)) for plugin in plugins] == [("drdrill", DrdrillPlugin)]


def test_the_ignore_file_keeps_stray_modules_out_of_the_loader(tmp_path: Path) -> None:
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
