"""drdrill's Airflow plugin: what drdrill adds to Airflow itself (the UI's pieces arrive here).

An installed drdrill registers it through the ``airflow.plugins`` entry point. A checkout's Airflow also has
``plugins/drdrill_plugin.py`` in its plugins folder, which registers it only when no entry point does (Airflow
would load it twice and report the second as an import error); the library is an installed package that
Airflow's plugin loader never walks.
"""

from __future__ import annotations

from importlib.metadata import distributions

from airflow.plugins_manager import AirflowPlugin

import drdrill

ENTRY_POINT_GROUP = "airflow.plugins"


class DrdrillPlugin(AirflowPlugin):
    """Names drdrill (and its version) in ``airflow plugins``."""

    name = "drdrill"
    version = drdrill.__version__


def registered_by_entry_point() -> bool:
    """Whether an installed distribution registers :class:`DrdrillPlugin` through the ``airflow.plugins`` entry
    point, looked up as Airflow's loader does (every distribution on ``sys.path``)."""
    wanted = f"{__name__}:{DrdrillPlugin.__name__}"
    return any(entry.group == ENTRY_POINT_GROUP and entry.value == wanted
               for distribution in distributions() for entry in distribution.entry_points)
