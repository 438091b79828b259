"""The Celery configuration for workers that run drdrill's drills: Airflow's own, plus Great Expectations imported
once in the worker before it forks its pool (Celery's ``import_modules`` signal, where Airflow preloads its own
expensive modules), so no validate task pays the import again.

Set it with ``[celery] celery_config_options = drdrill.airflow.celery_preload.CELERY_CONFIG``
(``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS``) on the workers.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

CELERY_CONFIG = DEFAULT_CELERY_CONFIG  # Airflow's settings, unchanged


@import_modules.connect
def preload_great_expectations(*_args: Any, **_kwargs: Any) -> None:
    """Import Great Expectations (and the suites' module) in the worker's main process, before its pool forks."""
    from drdrill.checks.gx_runner import great_expectations_module

    great_expectations_module()
