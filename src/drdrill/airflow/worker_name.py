"""Airflow's ``[core] hostname_callable`` for the local cluster: each worker names itself, as separate machines would."""

from __future__ import annotations

import os
import socket

WORKER_NAME_ENV_VAR = "DRDRILL_WORKER_NAME"


def worker_hostname() -> str:
    """``$DRDRILL_WORKER_NAME`` if set (a stack worker), else the machine's FQDN (every other component)."""
    return os.environ.get(WORKER_NAME_ENV_VAR, "").strip() or socket.getfqdn()
