"""Errors a retry cannot heal (full disk, refused login, config error) against those it can."""

from __future__ import annotations

import errno

import pymysql
import pytest

from drdrill.airflow.healing import cannot_heal
from drdrill.errors import ConfigError

pytestmark = pytest.mark.unit


def real_enospc() -> OSError:
    try:
        with open("/dev/full", "wb") as full:
            full.write(b"x")
            full.flush()
    except OSError as exc:
        return exc
    raise AssertionError("/dev/full accepted a write")


def test_no_space_a_refused_login_and_a_config_error_cannot_heal() -> None:
    assert real_enospc().errno == errno.ENOSPC and cannot_heal(real_enospc())
    assert cannot_heal(pymysql.err.OperationalError(1045, "Access denied for user 'backup'@'localhost'"))
    assert cannot_heal(ConfigError("drills.yaml", "targets.shop.rto", "not a duration", "write 30m"))
    try:
        try:
            raise real_enospc()
        except OSError as inner:
            raise RuntimeError("the fetch stopped") from inner
    except RuntimeError as wrapped:
        assert cannot_heal(wrapped)  # found through the cause chain


def test_network_and_server_hiccups_can_heal() -> None:
    assert not cannot_heal(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))
    assert not cannot_heal(pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1'"))
    assert not cannot_heal(TimeoutError("read timed out"))
