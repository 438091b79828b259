"""Check what S3 holds against the manifest: by each object's S3 attributes, or by re-reading every byte (deep).

The attribute check (GetObjectAttributes: size, SHA-256 checksum, parts) downloads nothing: the checksum S3 keeps was
sent with each part at upload and checked by S3 then, so an object overwritten or truncated since differs from the
manifest's record. The deep check streams each object back and hashes it (optionally keeping a copy: the restore's
fetch); it is the only check a manifest written before drdrill sent checksums allows.

A client-side encrypted object (its entry's ``encryption``) is checked with the store's key too: the deep check
decrypts every chunk (the fetch writes the plaintext), the attribute check opens its header; a wrong or missing
key, or bytes that do not authenticate, is a finding (DECRYPT_FAILED, ENCRYPTION_KEY_MISSING).
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from drdrill.findings import DrillFailed, Finding
from drdrill.progress import ProgressLog
from drdrill.sizes import format_size
from drdrill.storage.client_encryption import DecryptFailed, KeyMissing, check_key, decrypting
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import Manifest, ManifestError, ObjectEntry, read_manifest
from drdrill.storage.objectstore import ObjectStore, StorageError
from drdrill.storage.seal import SigningKey

DEEP, ATTRIBUTES = "deep", "attributes"  # the two kinds of verify: every byte re-read, or S3's attributes only


def verify_kind(manifest: Manifest, deep: bool) -> str:
    """The verify a manifest gets: by attributes unless ``deep`` is asked or an object has no recorded checksum."""
    return DEEP if deep or not all(entry.checksum_sha256 for entry in manifest.all_objects()) else ATTRIBUTES


def verify_backup(store: ObjectStore, layout: TargetLayout, backup_id: str, copy_to: Path | None = None, *,
                  signing_key: SigningKey | None, keep_free: int = 0,
                  datadir_estimate: bool = False, deep: bool = True) -> tuple[Manifest | None, list[Finding]]:
    """Check the manifest's seal, then each object; findings name the object and what differs.

    Each object is streamed back and hashed, or with ``deep`` False (and no ``copy_to``) checked by its S3
    attributes alone when the manifest recorded every object's checksum (``verify_kind``).

    With ``copy_to`` each object is also written there as it streams (the restore drill's fetch),
    so nothing is restored from bytes that were not checked. A fetch that does not fit on the disk (checked
    before the first byte, and a full disk on the way) raises DrillFailed with INSUFFICIENT_SPACE: it says
    nothing about the backup, and retrying does not make room. ``keep_free``: bytes that must stay free besides
    the fetched objects (the target's ``min_free_space``, room for the restore itself); ``datadir_estimate``: the
    restored datadir shares the disk, estimated as the objects' uncompressed size.
    """
    try:
        manifest = read_manifest(store, layout, backup_id, signing_key=signing_key)
    except ManifestError as exc:
        return None, [Finding(exc.code, exc.problem, exc.fix or "")]
    if copy_to is not None:
        needed = sum(entry.size + (entry.raw_bytes or entry.size if datadir_estimate else 0)
                     for entry in manifest.all_objects())
        check_room(copy_to, needed, backup_id, keep_free)
    findings = []
    if copy_to is None and verify_kind(manifest, deep) == ATTRIBUTES:
        for entry in manifest.all_objects():
            key = layout.object_key(backup_id, entry.name)
            found = attribute_findings(store, key, entry)
            findings += found or key_findings(store, key, entry)
        return manifest, findings
    for entry in manifest.all_objects():
        key = layout.object_key(backup_id, entry.name)
        if store.head(key) is None:
            findings.append(missing(store, key, entry))
            continue
        try:
            size, sha256 = hash_object(store, key, copy_to / entry.name if copy_to else None, entry.size,
                                       encryption=entry.encryption)
        except (DecryptFailed, KeyMissing) as exc:
            if copy_to is not None:
                (copy_to / entry.name).unlink(missing_ok=True)
            findings.append(undecryptable(exc, {"object": entry.name, **entry.encryption}))
            continue
        except OSError as exc:
            if exc.errno != errno.ENOSPC or copy_to is None:
                raise
            (copy_to / entry.name).unlink(missing_ok=True)
            raise no_room(copy_to, sum(e.size for e in manifest.all_objects()), backup_id, "filled up while fetching "
                          f"{entry.name}") from None
        if size != entry.size or sha256 != entry.sha256:
            findings.append(Finding(
                "ARTEFACT_CORRUPT",
                f"s3://{store.bucket}/{key} is {size} bytes with sha256 {sha256[:16]}…; "
                f"the manifest recorded {entry.size} bytes with sha256 {entry.sha256[:16]}….",
                evidence={"object": entry.name, "verify": DEEP, "size": size, "expected_size": entry.size,
                          "sha256": sha256, "expected_sha256": entry.sha256},
            ))
    return manifest, findings


def missing(store: ObjectStore, key: str, entry: ObjectEntry, code: str = "ARTEFACT_MISSING") -> Finding:
    """ARTEFACT_MISSING (or ``code``): an object the manifest lists is not stored."""
    return Finding(code, f"s3://{store.bucket}/{key} is listed in the manifest but not stored.",
                   evidence={"object": entry.name})


def undecryptable(exc: DecryptFailed | KeyMissing, evidence: dict[str, object]) -> Finding:
    """DECRYPT_FAILED, ENCRYPTION_KEY_WRONG or ENCRYPTION_KEY_MISSING: a client-side encrypted object that does not
    open (``evidence``: which object, and its encryption record)."""
    return Finding(exc.code, exc.problem, exc.fix or "", evidence=evidence)


def key_findings(store: ObjectStore, key: str, entry: ObjectEntry) -> list[Finding]:
    """DECRYPT_FAILED or ENCRYPTION_KEY_MISSING when the store's key does not open a client-side encrypted object's
    header (its first bytes only are read); nothing for an object without client-side encryption."""
    if not entry.encryption.get("client_side"):
        return []
    first = next(iter(store.iter_object(key)), b"")  # the first chunk only; the dropped stream closes its body
    try:
        check_key(first, entry.encryption, store.client_key, f"s3://{store.bucket}/{key}")
    except (DecryptFailed, KeyMissing) as exc:
        return [undecryptable(exc, {"object": entry.name, **entry.encryption})]
    return []


def attribute_findings(store: ObjectStore, key: str, entry: ObjectEntry, *, missing_code: str = "ARTEFACT_MISSING",
                       changed_code: str = "ARTEFACT_CORRUPT") -> list[Finding]:
    """ARTEFACT_MISSING or ARTEFACT_CORRUPT (or the codes given: a second copy's) when S3's attributes of ``key``
    (size, SHA-256 checksum, parts) differ from what the manifest recorded at upload; nothing is downloaded."""
    stored = store.attributes(key)
    if stored is None:
        return [missing(store, key, entry, missing_code)]
    differs = []
    if stored.size != entry.size:
        differs.append(f"{stored.size} bytes, the manifest recorded {entry.size}")
    if stored.checksum_sha256 != entry.checksum_sha256:
        differs.append(f"SHA-256 checksum {stored.checksum_sha256 or 'none'}, the manifest recorded "
                       f"{entry.checksum_sha256}" + ("" if stored.checksum_sha256 else
                                                     " (it was rewritten without drdrill's checksum)"))
    if stored.parts is not None and stored.parts != entry.parts:
        differs.append(f"{stored.parts} part(s), the manifest recorded {entry.parts}")
    if not differs:
        return []
    return [Finding(
        changed_code,
        f"s3://{store.bucket}/{key} was changed after the backup stored it: S3 reports {'; '.join(differs)} "
        "(checked by its S3 attributes).",
        evidence={"object": entry.name, "verify": ATTRIBUTES, "size": stored.size, "expected_size": entry.size,
                  "checksum_sha256": stored.checksum_sha256, "expected_checksum_sha256": entry.checksum_sha256,
                  "parts": stored.parts, "expected_parts": entry.parts},
    )]


def check_room(directory: Path, needed: int, backup_id: str, keep_free: int = 0) -> None:
    """DrillFailed (INSUFFICIENT_SPACE) when ``directory``'s file system has less than ``needed`` + ``keep_free`` free."""
    if shutil.disk_usage(directory).free < needed + keep_free:
        what = (f"has too little free space (min_free_space keeps {format_size(keep_free)} free besides the fetch)"
                if keep_free else "has too little free space")
        raise no_room(directory, needed + keep_free, backup_id, what)


def no_room(directory: Path, needed: int, backup_id: str, what: str) -> DrillFailed:
    """INSUFFICIENT_SPACE naming the directory, the bytes the fetch needs and the bytes free."""
    free = shutil.disk_usage(directory).free
    return DrillFailed([Finding(
        "INSUFFICIENT_SPACE",
        f"The work directory {directory} {what}: fetching backup {backup_id} needs {format_size(needed)}, "
        f"{format_size(free)} is free. Nothing was restored; the backup itself was not judged.",
        "Free space in the work directory (settings.work_dir) or give the worker a bigger disk, then re-run the drill.",
        evidence={"directory": str(directory), "needed_bytes": needed, "free_bytes": free},
    )])


def storage_unavailable(exc: StorageError, what: str) -> DrillFailed:
    """STORAGE_UNAVAILABLE: the store failed (timed out, was cut) while ``what``; the backup itself was not judged."""
    return DrillFailed([Finding("STORAGE_UNAVAILABLE", f"{exc.problem} {what}", exc.fix or "")])


def quarantine(store: ObjectStore, layout: TargetLayout, backup_id: str, findings: list[Finding]) -> None:
    """Mark a backup that failed verification so that nothing treats it as valid."""
    body = json.dumps([finding.to_dict() for finding in findings], indent=2).encode()
    store.put_bytes(layout.quarantine_key(backup_id), body)


def hash_object(store: ObjectStore, key: str, copy_to: Path | None = None,
                expected_size: int | None = None, *, encryption: Mapping[str, object] | None = None) -> tuple[int, str]:
    """Stream one object: the size and sha256 of its stored bytes, written to ``copy_to`` on the way when given (the
    progress logged against ``expected_size``). With a client-side ``encryption`` (the object's record) every chunk
    is decrypted with the store's key on the way and ``copy_to`` gets the plaintext; DecryptFailed or KeyMissing
    when it does not open."""
    digest = hashlib.sha256()
    size = 0

    def stored() -> Iterator[bytes]:
        nonlocal size
        for chunk in store.iter_object(key):
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    sink = open(copy_to, "wb") if copy_to else None
    verb = "downloading" if copy_to else "checking"
    try:
        with ProgressLog(f"{verb} {key.rsplit('/', 1)[-1]}", lambda: size, expected_size):
            for chunk in decrypting(stored(), encryption or {}, store.client_key, f"s3://{store.bucket}/{key}"):
                if sink:
                    sink.write(chunk)
    finally:
        if sink:
            sink.close()
    return size, digest.hexdigest()


def fetch_backup(store: ObjectStore, layout: TargetLayout, backup_id: str, into: Path, *,
                 signing_key: SigningKey | None, keep_free: int = 0,
                 datadir_estimate: bool = False) -> tuple[dict[str, object], list[Finding]]:
    """Download every object of a backup into ``into`` while checking it; returns stats and findings."""
    into.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    manifest, findings = verify_backup(store, layout, backup_id, copy_to=into, signing_key=signing_key,
                                       keep_free=keep_free, datadir_estimate=datadir_estimate)
    seconds = time.monotonic() - began
    fetched = sum(entry.size for entry in manifest.all_objects()) if manifest else 0
    return {
        "directory": str(into),
        "bytes": fetched,
        "seconds": round(seconds, 3),
        "mb_per_second": round(fetched / 1e6 / seconds, 1) if seconds else None,
    }, findings
