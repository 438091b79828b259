"""Preflight's privilege check, read from SHOW GRANTS: exactly the privileges on *.*, SUPER's share, SHUTDOWN."""

from __future__ import annotations

from typing import Any

import pytest

from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.failover.preflight import REQUIRED_PRIVILEGES, global_privileges, privilege_findings

pytestmark = pytest.mark.unit


class Grants:
    """A server login that answers SHOW GRANTS with ``grants``."""

    def __init__(self, *grants: str) -> None:
        self.grants, self.user = grants, "drill"

    def fetch_all(self, sql: str, args: Any = None) -> list[tuple[str]]:
        assert sql == "SHOW GRANTS FOR CURRENT_USER()"
        return [(grant,) for grant in self.grants]

    def describe(self) -> str:
        return "drill@db:3306"


def _servers(primary: Grants, replica: Grants) -> FailoverServers:
    return FailoverServers(primary, replica, primary, replica)  # type: ignore[arg-type]


def test_privileges_are_read_exactly_and_only_on_star_dot_star() -> None:
    held = global_privileges([
        "GRANT REPLICATION SLAVE ADMIN, CREATE USER, DELETE HISTORY ON *.* TO `drill`@`%`",
        "GRANT INSERT, UPDATE ON `shop`.* TO `drill`@`%`",
    ])
    assert held == {"REPLICATION SLAVE ADMIN", "CREATE USER", "DELETE HISTORY"}
    assert "REPLICATION SLAVE" not in held and "CREATE" not in held and "DELETE" not in held


def test_a_login_with_what_the_drill_needs_is_quiet_and_one_without_it_is_told_what_to_grant() -> None:
    enough = Grants(f"GRANT {', '.join(REQUIRED_PRIVILEGES)} ON *.* TO `drill`@`%`")
    everything = Grants("GRANT ALL PRIVILEGES ON *.* TO `drill`@`%`")
    assert privilege_findings(_servers(enough, everything), "kill") == []
    weak = Grants("GRANT SELECT, REPLICATION SLAVE ADMIN ON *.* TO `drill`@`%`")
    [finding] = privilege_findings(_servers(enough, weak), "kill")
    assert finding.code == "CONFIG_INVALID" and "on the replica" in finding.message
    assert "lacks INSERT, UPDATE, DELETE, CREATE, READ_ONLY ADMIN," in finding.message and "GRANT " in finding.fix


def test_super_stands_for_what_it_still_implies_and_the_shutdown_fault_needs_shutdown() -> None:
    implied = {"REPLICATION SLAVE ADMIN", "READ_ONLY ADMIN", "BINLOG ADMIN", "BINLOG REPLAY"}
    rest = [privilege for privilege in REQUIRED_PRIVILEGES if privilege not in implied]
    with_super = Grants(f"GRANT SUPER, {', '.join(rest)} ON *.* TO `drill`@`%`")
    assert privilege_findings(_servers(with_super, with_super), "kill") == []
    [on_primary, on_replica] = privilege_findings(_servers(with_super, with_super), "shutdown")
    assert "lacks SHUTDOWN ON *.*" in on_primary.message and "on the replica" in on_replica.message
