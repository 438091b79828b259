"""The restore drill's proof: its verdict written next to the manifest of the backup it restored (``proof.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drdrill.config import Target
from drdrill.drills.layouts import layout_for
from drdrill.history import DrillRecord
from drdrill.servers.scratch import run_key
from drdrill.storage.manifest import REFUSED_CODES
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.proof import DrillOutcome, Proof, record_proof


def write_proof(store: ObjectStore, target: Target, results: Mapping[str, Any], record: DrillRecord) -> Proof | None:
    """Add this run to the proof record of the backup it restored (``record.backup_id``); None when there was none.

    ``results``: the steps' results, which say whether the restored server was validated. A drill that refused the
    backup's manifest (MANIFEST_CORRUPT, MANIFEST_INVALID) writes nothing: the catalog already refuses that backup
    (corrupt, invalid) on every read, and a failed proof would outlive the cause when it was a wrong signing key.
    """
    backup_id = record.backup_id
    codes = tuple(finding["code"] for finding in record.findings)
    if not backup_id or any(code in REFUSED_CODES for code in codes):
        return None
    outcome = DrillOutcome(
        verdict=record.verdict, findings=codes, run_id=record.run_id,
        run_key=run_key(record.run_id), finished_at=record.finished_at, validated=results.get("validate") is not None,
        airflow_run=record.details.get("airflow_run"))
    return record_proof(store, layout_for(target), backup_id, outcome)
