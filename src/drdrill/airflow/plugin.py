"""drdrill's Airflow plugin: what drdrill adds to Airflow itself (the UI's pieces arrive here).

Registered by ``plugins/drdrill_plugin.py``, the only module drdrill puts in Airflow's plugins
folder; the library is an installed package that Airflow's plugin loader never walks.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

import drdrill


class DrdrillPlugin(AirflowPlugin):
    """Names drdrill (and its version) in ``airflow plugins``."""

    name = "drdrill"
    version = drdrill.__version__
