"""Each engine's backup restores by hand to exactly the per-table checksums the manifest recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.drills.layouts import layout_for
from tests.helpers.drill_helpers import run_steps, shop_target
from tests.helpers.handrestore import apply_catchup, download, restore_data, restored_facts

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("engine", ["mariadb-dump", "mydumper", "mariabackup"])
def test_backup_restores_by_hand_to_the_manifest_facts(engine, sandbox, mariadb_factory, tmp_path: Path) -> None:
    target = shop_target()
    plan, manifest = run_steps(sandbox, target, tmp_path / "work", engine=engine, write_between=3)

    # Writes landed after the backup's consistent point: the manifest must say so and carry the catch-up.
    assert manifest.engine == engine
    assert not manifest.facts_match_consistent_point
    assert manifest.catchup is not None and manifest.catchup.size > 0
    assert manifest.notes and "after the backup's consistent point" in manifest.notes[0]
    assert {t.name for t in manifest.tables} >= {"customers", "orders", "order_items", "payments", "heartbeat"}
    assert manifest.inventory.views == ("shop.order_totals",)
    assert manifest.inventory.triggers == ("shop.orders_status_audit",)
    assert manifest.inventory.routines == ("shop.customer_lifetime_value (FUNCTION)",)

    client, layout = sandbox.sandbox.s3_client(), layout_for(target)
    data = download(client, target.storage.bucket, layout, plan["backup_id"], manifest.objects[0].name, tmp_path)
    catchup = download(client, target.storage.bucket, layout, plan["backup_id"], manifest.catchup.name, tmp_path)

    scratch = mariadb_factory("scratch", start=False, log_bin=False)
    if engine != "mariabackup":
        scratch.initialize()
        scratch.start()
    restore_data(engine, data, scratch, tmp_path)
    if engine == "mariabackup":
        scratch.initialize()  # writes the config; the datadir already holds the copied-back files
        scratch.start()

    # Data alone is the backup's consistent point: the tables written afterwards differ (the check has teeth).
    before_catchup, inventory = restored_facts(scratch, manifest)
    differing = {t.name for t, r in zip(manifest.tables, before_catchup) if (t.rows, t.checksum) != (r.rows, r.checksum)}
    assert "customers" in differing
    assert inventory == manifest.inventory

    apply_catchup(catchup, scratch)
    after_catchup, _ = restored_facts(scratch, manifest)
    assert [(t.name, t.rows, t.checksum) for t in after_catchup] == [(t.name, t.rows, t.checksum) for t in manifest.tables]
