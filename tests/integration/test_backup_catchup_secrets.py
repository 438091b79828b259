"""A backup's catch-up segment is searched for account statements with a clear-text password, as the binlog archive
is: a SECRET_IN_BINLOG warning (the backup stands, the text is never repeated); a hashed password stays quiet."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from drdrill.drill_record import build_record
from drdrill.drills.backup import steps as backup
from drdrill.drills.layouts import layout_for
from drdrill.findings import PASSED
from tests.helpers.drill_helpers import execute, shop_target, store_for
from tests.helpers.handrestore import download

pytestmark = pytest.mark.integration
HASHED = "*E6CC90B878B948C35E92B003C792C46C58C4AF40"


def test_a_clear_password_written_during_the_backup_warns_and_a_hashed_one_is_quiet(sandbox, tmp_path: Path) -> None:
    base = shop_target()
    target = dataclasses.replace(base, storage=dataclasses.replace(base.storage, prefix=f"catchup-{uuid.uuid4().hex[:6]}"))
    store, source, primary = store_for(sandbox, target), sandbox.sandbox.backup_endpoint(), sandbox.sandbox.primary
    clear = f"Clear-{uuid.uuid4().hex}"
    accounts = {"hashed": f"CREATE USER 'drd_catchup_hashed'@'%' IDENTIFIED BY PASSWORD '{HASHED}'",
                "clear": f"CREATE USER 'drd_catchup_clear'@'%' IDENTIFIED BY '{clear}'"}
    results = {}
    try:
        for kind, statement in accounts.items():
            plan = backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc))
            dumped = backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path)
            execute(primary, "USE shop", statement)  # after the consistent point, in the target's database
            results[kind] = (plan, backup.write_manifest(plan, dumped, target, source, store, work_dir=tmp_path,
                                                         signing_key=None))
            backup.verify(plan, target, store, signing_key=None)
    finally:
        execute(primary, "DROP USER IF EXISTS 'drd_catchup_hashed'@'%'", "DROP USER IF EXISTS 'drd_catchup_clear'@'%'")

    assert results["hashed"][1]["findings"] == []
    plan, written = results["clear"]
    [warning] = written["findings"]
    assert warning["code"] == "SECRET_IN_BINLOG" and warning["evidence"]["object"] == "catchup.sql.zst"
    assert f"Backup {plan['backup_id']}'s catch-up segment catchup.sql.zst holds 1 account statement(s)" in warning["message"]
    assert [item["statement"] for item in warning["evidence"]["statements"]] == ["CREATE USER"]

    # The check is right: the password is in the segment; the record passes with the warning and never repeats it.
    segment = download(sandbox.sandbox.s3_client(), target.storage.bucket, layout_for(target), plan["backup_id"],
                       "catchup.sql.zst", tmp_path)
    assert clear.encode() in subprocess.run(["zstd", "-dc", str(segment)], capture_output=True, check=True).stdout
    record, findings = build_record(run_id="r", target=target.name, drill="backup", started_at=plan["started_at"],
                                    steps=["write_manifest"], results={"write_manifest": written},
                                    findings_by_step={})
    assert record.verdict == PASSED and [finding.code for finding in findings] == ["SECRET_IN_BINLOG"]
    assert clear not in json.dumps([written, record.to_dict()], default=str)
