"""The manifest: what a backup is and what the source held at its point in time. Written last, sealed.

Format 2 manifests carry their own ``digest`` (sha256 of their canonical JSON, ``drdrill.storage.seal``) and,
when the target names ``storage.manifest_signing_conn_id``, a ``signature`` (HMAC-SHA256 of the same bytes with
that connection's password). Every read checks them: a mismatch is ManifestCorrupt (``MANIFEST_CORRUPT``), so an
edited manifest is reported, never trusted. A format 2 manifest without a digest is corrupt too (it was removed).

Format 1 manifests (written before manifests were sealed) carry no digest. They are still read, because users
have them in their buckets, and they count as valid, but their ``seal`` says ``unsealed``: an edit to one cannot be
detected. With signing configured they are refused like any unsigned manifest (MANIFEST_CORRUPT, "no signature"),
since anyone who edits a manifest could also rewrite it as format 1. Unsealed backups age out by retention as new,
sealed ones are taken; corrupt ones (unsigned ones too, once signing is on) are never deleted by retention.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from drdrill.errors import DrdrillError
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore, UploadResult
from drdrill.storage.seal import DIGEST_KEY, SIGNATURE_KEY, SealBroken, SigningKey, check_seal, sealed

FORMAT_VERSION = 2
UNSEALED_FORMAT_VERSION = 1  # read, never written: no digest
SIGNED, SEALED, SIGNATURE_NOT_CHECKED, UNSEALED = "signed", "sealed", "signed, signature not checked", "unsealed"


class ManifestError(DrdrillError):
    """A manifest is missing fields or is not valid JSON: the backup does not count."""

    code = "MANIFEST_INVALID"


class ManifestCorrupt(ManifestError):
    """A manifest's digest or signature does not match its content: it was changed after it was written."""

    code = "MANIFEST_CORRUPT"


REFUSED_CODES = (ManifestError.code, ManifestCorrupt.code)  # the findings that say a manifest was refused


@dataclass(frozen=True)
class BinlogPosition:
    """A point in the source's binary log, as file/position and GTID."""

    file: str
    position: int
    gtid: str

    def label(self) -> str:
        """``mysql-bin.000002:600 (gtid 0-1-6)``."""
        return f"{self.file}:{self.position} (gtid {self.gtid or '-'})"


@dataclass(frozen=True)
class ObjectEntry:
    """One stored object of a backup: its name inside the backup folder, role, size and sha256.

    ``checksum_sha256`` is the SHA-256 checksum S3 keeps for it (base64; composite of its ``parts`` parts of
    ``part_size`` bytes when multipart, ``parts`` 0 when written in one request), so a verify can check it by its
    attributes without reading it; "" in manifests written before drdrill sent checksums (verified by re-reading).
    ``encryption`` says how it is encrypted at rest (``UploadResult.encryption``; never the key): with
    ``client_side`` set, ``size`` and the hashes are of the ciphertext, and reading it needs the key it names.
    """

    name: str
    role: str
    size: int
    sha256: str
    raw_bytes: int = 0
    checksum_sha256: str = ""
    parts: int = 0
    part_size: int = 0
    encryption: dict[str, str | int] = field(default_factory=dict, hash=False)

    @classmethod
    def of_upload(cls, upload: UploadResult, role: str, raw_bytes: int) -> ObjectEntry:
        """The entry of an object as it was uploaded (named by the last part of its key)."""
        return cls(name=upload.key.rsplit("/", 1)[-1], role=role, size=upload.size, sha256=upload.sha256,
                   raw_bytes=raw_bytes, checksum_sha256=upload.checksum_sha256, parts=upload.parts,
                   part_size=upload.part_size, encryption=upload.encryption)


@dataclass(frozen=True)
class TableFacts:
    """A table's row count and content checksum on the source at the facts point."""

    schema: str
    name: str
    rows: int
    checksum: str
    columns: tuple[str, ...] = ()
    primary_key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inventory:
    """The schema objects the restore must bring back, each as ``schema.name``."""

    tables: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    routines: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchemaObject:
    """One schema object's fingerprint: kind, ``schema.name``, digest and normalized definition.

    ``definition`` is None (and ``digest`` empty) when the backup account could not read the object's text.
    """

    kind: str
    name: str
    digest: str
    definition: str | None

    @property
    def readable(self) -> bool:
        """Whether the source let the backup read this object's definition."""
        return self.definition is not None


@dataclass(frozen=True)
class Manifest:
    """Everything a restore drill needs to prove a backup; see DESIGN.md 'manifest'."""

    backup_id: str
    target: str
    engine: str
    tool_version: str
    compression: str
    server_version: str
    source: str
    databases: tuple[str, ...]
    started_at: str
    finished_at: str
    consistent_point: BinlogPosition
    facts_point: BinlogPosition
    objects: tuple[ObjectEntry, ...]
    tables: tuple[TableFacts, ...]
    inventory: Inventory
    facts_taken_at: str = ""
    schema: tuple[SchemaObject, ...] = ()
    catchup: ObjectEntry | None = None
    notes: tuple[str, ...] = ()
    format_version: int = FORMAT_VERSION
    complete: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    digest: str = field(default="", compare=False)  # as read; to_json writes a fresh one
    signature: str = field(default="", compare=False)
    signature_checked: bool = field(default=False, compare=False)  # not stored: whether this read checked it

    @property
    def seal(self) -> str:
        """How far this manifest can be trusted not to have been edited: signed, sealed or unsealed."""
        if not self.digest:
            return UNSEALED
        if self.signature:
            return SIGNED if self.signature_checked else SIGNATURE_NOT_CHECKED
        return SEALED

    @property
    def facts_match_consistent_point(self) -> bool:
        """True when the facts describe exactly the backup's own point in time."""
        return self.facts_point == self.consistent_point

    def all_objects(self) -> tuple[ObjectEntry, ...]:
        """Data objects plus the catch-up binlog segment, if any."""
        return self.objects + ((self.catchup,) if self.catchup else ())

    def to_json(self, signing_key: SigningKey | None = None) -> str:
        """Stable, readable JSON (sorted keys) in the current format, with its digest (and signature, given a key)."""
        data = asdict(self)
        del data["signature_checked"]
        data["format_version"] = FORMAT_VERSION
        data["facts_match_consistent_point"] = self.facts_match_consistent_point
        return json.dumps(sealed(data, signing_key), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "manifest", signing_key: SigningKey | None = None) -> Manifest:
        """Parse and check a manifest; ManifestCorrupt when its seal does not match, ManifestError when incomplete.

        With ``signing_key`` (the target signs its manifests) the signature must be there and match.
        """
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("format_version") not in (UNSEALED_FORMAT_VERSION, FORMAT_VERSION):
                raise ManifestError(f"{where}: unknown format_version {data.get('format_version')!r}.",
                                    "Upgrade drdrill to read this backup.")
            signature_checked = _check_seal(data, where, signing_key)
            if data.get("complete") is not True:
                raise ManifestError(f"{where}: the manifest is marked incomplete.", "Take a new backup.")
            data.pop("facts_match_consistent_point", None)
            data["consistent_point"] = BinlogPosition(**data["consistent_point"])
            data["facts_point"] = BinlogPosition(**data["facts_point"])
            data["objects"] = tuple(ObjectEntry(**obj) for obj in data["objects"])
            data["catchup"] = ObjectEntry(**data["catchup"]) if data.get("catchup") else None
            data["tables"] = tuple(
                TableFacts(**{**t, "columns": tuple(t.get("columns", ())), "primary_key": tuple(t.get("primary_key", ()))})
                for t in data["tables"]
            )
            data["inventory"] = Inventory(**{k: tuple(v) for k, v in data["inventory"].items()})
            data["schema"] = tuple(SchemaObject(**obj) for obj in data.get("schema", ()))
            data["databases"] = tuple(data["databases"])
            data["notes"] = tuple(data.get("notes", ()))
            manifest = cls(**data, signature_checked=signature_checked)
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError(f"{where}: not a complete drdrill manifest ({exc}).",
                                "This backup cannot be trusted; take a new backup.") from exc
        if not manifest.objects:
            raise ManifestError(f"{where}: lists no data objects.", "Take a new backup.")
        return manifest


def _check_seal(data: dict[str, Any], where: str, signing_key: SigningKey | None) -> bool:
    """ManifestCorrupt unless the digest (format 2: required) and, given a key, the signature match."""
    try:
        if data["format_version"] != UNSEALED_FORMAT_VERSION and DIGEST_KEY not in data:
            raise SealBroken(DIGEST_KEY, f"it has no digest, which every format {FORMAT_VERSION} manifest carries: "
                             "it was removed")
        return check_seal(data, signing_key)
    except SealBroken as exc:
        raise ManifestCorrupt(f"{where}: the manifest's {exc.part} check failed: {exc.problem}.",
                              _CORRUPT_FIXES[exc.part]) from exc


_CORRUPT_FIXES = {
    DIGEST_KEY: "The manifest was changed after it was written, so the backup cannot be trusted: find out who or "
                "what changed it (bucket access logs, object versions), and take a new backup.",
    SIGNATURE_KEY: "The manifest was changed after it was written, signed with another key, or written before "
                   "signing was enabled, so the backup cannot be trusted: check the key in "
                   "storage.manifest_signing_conn_id, find out who changed the manifest (bucket access logs, object "
                   "versions), and take a new backup.",
}


def read_manifest(store: ObjectStore, layout: TargetLayout, backup_id: str, *,
                  signing_key: SigningKey | None) -> Manifest:
    """The stored manifest of a backup, its seal checked; ManifestError when missing, incomplete or corrupt.

    A sealed manifest found in another backup's folder, or another target's, is corrupt too: copied there (with
    its objects) it would pass for a newer backup than it is.
    """
    key = layout.manifest_key(backup_id)
    raw = store.get_bytes(key)
    if raw is None:
        raise ManifestError(f"Backup {backup_id} has no manifest at s3://{store.bucket}/{key}.",
                            "The backup run did not finish; take a new backup.")
    manifest = Manifest.from_json(raw, where=key, signing_key=signing_key)
    if (manifest.backup_id, manifest.target) != (backup_id, layout.target):
        raise ManifestCorrupt(f"{key}: the manifest describes backup {manifest.backup_id} of target "
                              f"{manifest.target}, not the folder it is in ({backup_id} of {layout.target}).",
                              "It was copied or moved by hand: do not trust this folder; take a new backup.")
    return manifest
