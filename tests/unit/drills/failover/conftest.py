"""A failover target for the unit tests of the failover drill."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from drdrill.config import FailoverDrill, Objectives, Retention, Storage, Target


@pytest.fixture
def make_target() -> Callable[..., Target]:
    """``make_target(rto=..., rpo=..., **failover_drill settings)``: target ``fo`` that allows failover drills."""
    def make(rto: float = 30, rpo: float = 5, **settings: Any) -> Target:
        return Target(
            name="fo", source_conn_id="fo_primary", replica_conn_id="fo_replica", databases=("drill",),
            storage=Storage(conn_id="s3", bucket="drdrill-tests", prefix="x"),
            objectives=Objectives(rto=timedelta(seconds=rto), rpo=timedelta(seconds=rpo)),
            retention=Retention(keep_backups=1), allow_failover_drill=True,
            failover_drill=dataclasses.replace(FailoverDrill(canary_conn_id="fo_canary"), **settings))

    return make
