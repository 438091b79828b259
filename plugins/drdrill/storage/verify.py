"""Re-read what S3 holds and check every object's size and sha256 against the manifest."""

from __future__ import annotations

import hashlib
import json

from drdrill.checks.findings import Finding
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import Manifest, ManifestError
from drdrill.storage.objectstore import ObjectStore


def verify_backup(store: ObjectStore, layout: TargetLayout, backup_id: str) -> tuple[Manifest | None, list[Finding]]:
    """Stream each object back and hash it; findings name the object and what differs."""
    manifest_key = layout.manifest_key(backup_id)
    raw = store.get_bytes(manifest_key)
    if raw is None:
        return None, [Finding("MANIFEST_INVALID", f"Backup {backup_id} has no manifest at s3://{store.bucket}/{manifest_key}.")]
    try:
        manifest = Manifest.from_json(raw, where=manifest_key)
    except ManifestError as exc:
        return None, [Finding("MANIFEST_INVALID", exc.problem)]
    findings = []
    for entry in manifest.all_objects():
        key = layout.object_key(backup_id, entry.name)
        if store.head(key) is None:
            findings.append(Finding("ARTEFACT_MISSING", f"s3://{store.bucket}/{key} is listed in the manifest but not stored.",
                                    evidence={"object": entry.name}))
            continue
        digest = hashlib.sha256()
        size = 0
        for chunk in store.iter_object(key):
            digest.update(chunk)
            size += len(chunk)
        if size != entry.size or digest.hexdigest() != entry.sha256:
            findings.append(Finding(
                "ARTEFACT_CORRUPT",
                f"s3://{store.bucket}/{key} is {size} bytes with sha256 {digest.hexdigest()[:16]}…; "
                f"the manifest recorded {entry.size} bytes with sha256 {entry.sha256[:16]}….",
                evidence={"object": entry.name, "size": size, "expected_size": entry.size,
                          "sha256": digest.hexdigest(), "expected_sha256": entry.sha256},
            ))
    return manifest, findings


def quarantine(store: ObjectStore, layout: TargetLayout, backup_id: str, findings: list[Finding]) -> None:
    """Mark a backup that failed verification so that nothing treats it as valid."""
    body = json.dumps([finding.to_dict() for finding in findings], indent=2).encode()
    store.put_bytes(layout.quarantine_key(backup_id), body)
