"""Registers drdrill's Airflow plugin. The library itself is the installed ``drdrill`` package."""

from drdrill.airflow.plugin import DrdrillPlugin

__all__ = ["DrdrillPlugin"]
