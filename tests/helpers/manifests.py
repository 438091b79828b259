"""Manifests built in memory for tests of the logic that reads them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from drdrill.storage.manifest import BinlogPosition, Inventory, Manifest, ObjectEntry, TableFacts
from drdrill.storage.seal import SigningKey, sealed


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


def resealed(data: dict[str, Any], signing_key: SigningKey | None = None) -> str:
    """``data`` (a manifest's JSON object, changed by a test) as its writer would store it: with a matching seal.

    For tests of what a reader checks beyond the seal: a tool that writes wrong facts seals them like right ones.
    """
    return json.dumps(sealed(data, signing_key), indent=2, sort_keys=True)


def unsealed_format_1(manifest: Manifest) -> str:
    """``manifest`` as drdrill wrote it before manifests were sealed: format 1, no digest."""
    data = dataclasses.asdict(manifest)
    for key in ("digest", "signature", "signature_checked"):
        del data[key]
    data.update(format_version=1, facts_match_consistent_point=manifest.facts_match_consistent_point)
    return json.dumps(data, indent=2, sort_keys=True)
