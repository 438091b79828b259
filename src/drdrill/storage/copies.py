"""The second copy of each backup in another bucket (``storage.copy``): made by S3 server-side, checked like the
backup itself by S3's attributes against the manifest.

Objects are copied in the manifest's order, each only when the copy bucket does not hold it yet (a re-run copies
what is missing), and the manifest last, only once every object's copy matches it; an object the copy bucket holds
with other contents is never overwritten: it is COPY_MISMATCH, as a missing one is COPY_MISSING.
"""

from __future__ import annotations

from drdrill.findings import Finding
from drdrill.storage.layout import MANIFEST, TargetLayout
from drdrill.storage.manifest import Manifest, ObjectEntry
from drdrill.storage.objectstore import ObjectStore, StorageError
from drdrill.storage.verify import attribute_findings

COPY_CODES = {"missing_code": "COPY_MISSING", "changed_code": "COPY_MISMATCH"}


def manifest_entry(store: ObjectStore, layout: TargetLayout, backup_id: str) -> ObjectEntry:
    """The manifest as an object of its backup: its size and checksum as the primary bucket keeps them."""
    stored = store.attributes(layout.manifest_key(backup_id))
    if stored is None:
        raise StorageError(f"The manifest of backup {backup_id} is no longer in {store.describe()}.",
                           "Check who deletes there; re-run the backup drill.")
    return ObjectEntry(MANIFEST, "manifest", stored.size, "", checksum_sha256=stored.checksum_sha256)


def copy_backup(store: ObjectStore, copy: ObjectStore, layout: TargetLayout, manifest: Manifest) -> list[Finding]:
    """Copy every object of a verified backup into ``copy`` where it is absent, check them, and only when they all
    match copy the manifest and check it: COPY_MISSING (with S3's refusal, when a copy failed) or COPY_MISMATCH
    findings, none when the copy matches. A copy with a missing or differing object never gets the manifest."""
    objects = list(manifest.all_objects())
    findings = _copy_absent(store, copy, layout, manifest.backup_id, objects) or \
        check_copy(copy, layout, manifest.backup_id, objects)
    if findings:
        return findings
    entry = [manifest_entry(store, layout, manifest.backup_id)]
    return _copy_absent(store, copy, layout, manifest.backup_id, entry) or \
        check_copy(copy, layout, manifest.backup_id, entry)


def _copy_absent(store: ObjectStore, copy: ObjectStore, layout: TargetLayout, backup_id: str,
                 entries: list[ObjectEntry]) -> list[Finding]:
    """Copy each of ``entries`` the copy bucket does not hold; COPY_MISSING for the first copy S3 refuses."""
    for entry in entries:
        key = layout.object_key(backup_id, entry.name)
        try:
            if copy.attributes(key) is None:
                copy.copy_in(store, key, entry.size, entry.part_size if entry.parts else 0)
        except StorageError:
            raise  # the endpoint failed or the credentials were refused: STORAGE_UNAVAILABLE, not a verdict on the copy
        except Exception as exc:  # S3 refused the copy itself (no such bucket, an Object Lock setting)
            return [Finding("COPY_MISSING", f"{copy.describe()} refused the copy of {key}: {exc}.",
                            evidence={"object": entry.name})]
    return []


def check_copy(copy: ObjectStore, layout: TargetLayout, backup_id: str, entries: list[ObjectEntry]) -> list[Finding]:
    """COPY_MISSING or COPY_MISMATCH for each object (and the manifest) of the backup whose copy is absent or differs."""
    return [finding for entry in entries
            for finding in attribute_findings(copy, layout.object_key(backup_id, entry.name), entry, **COPY_CODES)]
