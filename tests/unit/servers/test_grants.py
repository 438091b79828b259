"""The logins' least privileges: the README's block is the code's, and preflight's reading of SHOW GRANTS."""

from __future__ import annotations

import re
import pytest

from drdrill.servers.grants import BACKUP_GRANTS, missing_privileges, readme_sql
from tests.helpers.readme import section

pytestmark = pytest.mark.unit
DEPLOY = "Deploy drdrill into your Airflow"


def test_the_readme_lists_exactly_the_grants_the_code_creates_and_checks() -> None:
    blocks = re.findall(r"```sql\n(.*?)\n```", section(DEPLOY), re.DOTALL)
    assert blocks == [readme_sql()]
    assert "GRANT ALL" not in readme_sql().split("restore_drill.scratch_conn_id")[0]  # only a scratch server's own


LINE = "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, REPLICATION SLAVE ON *.* TO `b`@`%`"


@pytest.mark.parametrize(("lines", "missing"), [
    ([LINE], []),  # REPLICATION CLIENT is BINLOG MONITOR since 10.5
    (["GRANT ALL PRIVILEGES ON *.* TO `b`@`%` WITH GRANT OPTION"], []),
    ([LINE.replace("RELOAD, ", "")], ["RELOAD"]),
    ([LINE.replace("SELECT, SHOW VIEW, TRIGGER, EVENT, ", "").replace("LOCK TABLES, ", ""),
      "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `shop`.* TO `b`@`%`"], []),  # on each database
    ([LINE.replace("SHOW VIEW, ", ""), "GRANT SELECT ON `shop`.* TO `b`@`%`"], ["SHOW VIEW"]),
    (["GRANT USAGE ON *.* TO `b`@`%`", "GRANT ALL PRIVILEGES ON `shop`.* TO `b`@`%`"],
     ["RELOAD", "PROCESS", "BINLOG MONITOR", "REPLICATION SLAVE"]),  # global-only privileges stay missing
])
def test_missing_privileges_reads_show_grants_with_aliases_and_database_level_grants(lines, missing) -> None:
    assert missing_privileges(lines, BACKUP_GRANTS, ["shop"]) == missing


def test_the_airflow_api_login_needs_the_op_role_which_the_readme_names() -> None:
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def may_edit(role: str) -> bool:
        return SimpleAuthManager().is_authorized_connection(method="PUT", user=SimpleAuthManagerUser(
            username="drdrill", role=role))

    assert (may_edit("op"), may_edit("user"), may_edit("viewer")) == (True, False, False)
    assert "Airflow user with the **Op** role" in section(DEPLOY)
