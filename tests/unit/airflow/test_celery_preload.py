"""The workers' Celery configuration: Airflow's own, and Great Expectations imported when Celery imports the task
modules (before the pool forks)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_the_config_is_airflows_and_import_modules_preloads_great_expectations() -> None:
    probe = (
        "import sys\n"
        "from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG\n"
        "from celery.signals import import_modules\n"
        "from drdrill.airflow.celery_preload import CELERY_CONFIG\n"
        "assert CELERY_CONFIG is DEFAULT_CELERY_CONFIG\n"
        "before = 'great_expectations' in sys.modules\n"
        "import_modules.send(sender=None)\n"
        "print(before, 'great_expectations' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["False", "True"]
