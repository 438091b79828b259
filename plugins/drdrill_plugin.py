"""Registers drdrill's Airflow plugin from the plugins folder when the installed drdrill does not already register
it through its ``airflow.plugins`` entry point (Airflow would load it twice). The library is the installed package."""

from drdrill.airflow import plugin as _plugin

if not _plugin.registered_by_entry_point():
    DrdrillPlugin = _plugin.DrdrillPlugin
