"""The documented least privileges are enough, and a source login missing one is refused by the backup's preflight.

The sandbox creates its logins from ``drdrill.servers.grants`` (so every sandbox drill runs with the documented
grants); here a login with the backup grants alone takes a whole backup, and one privilege less is refused.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from drdrill.drills.backup import steps as backup
from drdrill.findings import DrillFailed
from drdrill.servers.grants import BACKUP_GRANTS, privileges_of
from tests.helpers.drill_helpers import shop_target, store_for

pytestmark = pytest.mark.integration
PASSWORD = "Grants-Secret-41"


def login_with(sandbox, user: str, grants: list[str]):
    """A login on the sandbox primary with exactly ``grants`` (dropped first, so nothing earlier lingers)."""
    primary = sandbox.sandbox.primary
    with contextlib.closing(primary.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SET SESSION sql_log_bin = 0")
        for host in ("127.0.0.1", "localhost"):
            cursor.execute("DROP USER IF EXISTS %s@%s", (user, host))
    primary.ensure_user(user, PASSWORD, grants, binlog=False)
    return primary.endpoint(user, PASSWORD)


def test_the_documented_backup_grants_alone_take_a_whole_backup(sandbox, tmp_path: Path) -> None:
    target, source = shop_target(), login_with(sandbox, "grants_backup", BACKUP_GRANTS)
    store, work = store_for(sandbox, target), tmp_path / "work"
    plan = backup.preflight(target, source, store, work_dir=work, started_at=datetime.now(timezone.utc))
    assert plan["accounts"] and plan["accounts"] > 0  # the global SELECT reads the grant tables
    dumped = backup.dump_and_upload(plan, target, source, store, work_dir=work)
    backup.write_manifest(plan, dumped, target, source, store, work_dir=work, signing_key=None)
    assert backup.verify(plan, target, store, signing_key=None)["backup_id"] == plan["backup_id"]


@pytest.mark.parametrize("dropped", ["RELOAD", "SHOW VIEW"])
def test_a_source_login_missing_one_documented_privilege_is_refused_by_preflight(sandbox, tmp_path: Path,
                                                                                  dropped: str) -> None:
    kept = [name for name in privileges_of(BACKUP_GRANTS[0]) if name != dropped]
    source = login_with(sandbox, "grants_short", [f"{', '.join(kept)} ON *.*"])
    with pytest.raises(DrillFailed) as failed:
        backup.preflight(shop_target(), source, store_for(sandbox, shop_target()), work_dir=tmp_path,
                         started_at=datetime.now(timezone.utc))
    (finding,) = failed.value.findings
    assert finding.code == "PREFLIGHT_FAILED"
    assert f"'grants_short' on {source.describe()} lacks {dropped} (" in finding.message
    assert f"GRANT {BACKUP_GRANTS[0]} TO grants_short;" in finding.fix
