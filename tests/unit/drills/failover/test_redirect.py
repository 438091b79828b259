"""The user's redirect hook gets the new and the old primary's addresses, never a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.drills.failover.redirect import run_redirect_command
from drdrill.endpoints import MySQLEndpoint

pytestmark = pytest.mark.unit


def test_no_hook_runs_nothing_and_a_hook_sees_both_addresses(tmp_path: Path) -> None:
    new, old = MySQLEndpoint("db2", 3307, "drill", "Secret-1"), MySQLEndpoint("db1", 3306, "drill", "Secret-1")
    assert run_redirect_command(None, new, old) == {"command": None}
    seen = tmp_path / "env"
    done = run_redirect_command(f"sh -c 'env > {seen}'", new, old)
    assert done["command"] == "sh" and done["new_primary"] == "db2:3307"
    env = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    assert (env["DRDRILL_NEW_PRIMARY_HOST"], env["DRDRILL_NEW_PRIMARY_PORT"]) == ("db2", "3307")
    assert (env["DRDRILL_OLD_PRIMARY_HOST"], env["DRDRILL_OLD_PRIMARY_PORT"]) == ("db1", "3306")
    assert "Secret-1" not in seen.read_text()
