"""The two-worker Celery cluster for tests marked ``cluster``, and what they do with it through the REST API.

``cluster_stack`` (session) starts ``drdrill stack`` against the session's sandbox on random ports and stops it at
the end; ``cluster`` (per test) restarts whatever an earlier test killed. The stack runs with spread placement
(``drdrill.sandbox.spread``): each next task of a drill goes to the other worker's own queue, so a test that needs
tasks on both workers never depends on chance.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drdrill.ports import port_open
from drdrill.sandbox.cluster.api import ClusterAPI
from drdrill.sandbox.cluster.stack import WORKERS, ClusterStack, StackPorts


def _free_port_base() -> int:
    for _ in range(200):
        base = random.randrange(20000, 32000, 10)
        ports = StackPorts.from_base(base)
        if not any(port_open(port) for port in (ports.postgres, ports.redis, ports.api)):
            return base
    raise RuntimeError("no free port range found for the test cluster")


@pytest.fixture(scope="session")
def cluster_stack(sandbox: Any) -> Iterator[ClusterStack]:
    """The stack on random ports in a temp directory the postgres user can reach, against the session's sandbox."""
    directory = Path(tempfile.mkdtemp(prefix="drdrill-cluster-"))
    directory.chmod(0o711)
    stack = ClusterStack(directory=directory / "stack", port_base=_free_port_base(),
                         connections=sandbox.sandbox.airflow_connections(), base_config=sandbox.config_path,
                         spread=True)
    try:
        stack.up(timeout=180)  # a shared 2-core machine under load takes a while
        yield stack
    finally:
        stack.down(purge=True)
        directory.rmdir()


@pytest.fixture
def cluster(cluster_stack: ClusterStack) -> ClusterAPI:
    """The running stack's API; a component an earlier test killed is started again first."""
    if any(daemon.pid() is None for daemon in cluster_stack.components.values()) or \
            set(cluster_stack.registered_workers()) != set(WORKERS):
        cluster_stack.up()
    return ClusterAPI(cluster_stack)
