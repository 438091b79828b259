"""Manifests built in memory for tests of the logic that reads them."""

from __future__ import annotations

import dataclasses
from typing import Any

from drdrill.storage.manifest import BinlogPosition, Inventory, Manifest, ObjectEntry, TableFacts


def sample_manifest(**changes: Any) -> Manifest:
    """A complete, valid mariadb-dump manifest of target ``shop`` with one table; ``changes`` replace fields."""
    point = BinlogPosition("mysql-bin.000002", 600, "0-1-6")
    base = Manifest(
        backup_id="20261121T083012Z-a1b2c3", target="shop", engine="mariadb-dump", tool_version="x",
        compression="zstd", server_version="10.11", source="u@h:1", databases=("shop",),
        started_at="s", finished_at="f", consistent_point=point, facts_point=point,
        objects=(ObjectEntry("dump.sql.zst", "data", 10, "ab" * 32),),
        tables=(TableFacts("shop", "t", 3, "123", ("id",), ("id",)),),
        inventory=Inventory(tables=("shop.t",)),
    )
    return dataclasses.replace(base, **changes)
