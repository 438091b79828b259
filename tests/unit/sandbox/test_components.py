"""``drdrill.sandbox.components``: the cluster's parts, named so that each can be a compose service and a host name.

That docker-compose.yaml starts exactly these is tests/unit/test_docker_compose.py's job.
"""

from __future__ import annotations

import re

import pytest

from drdrill.sandbox import components

pytestmark = pytest.mark.unit


def test_every_part_has_one_name_usable_as_a_service_and_host_name() -> None:
    names = [*components.BACKING_SERVICES, *components.AIRFLOW_SERVICES, *components.WORKERS]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9-]{0,62}", name) for name in names)
    assert len(components.WORKERS) == 2 and components.EXECUTOR == "CeleryExecutor"
    assert components.METADATA_DB != components.HISTORY_DB
