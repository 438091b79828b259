"""The manifest: what a backup is and what the source held at its point in time. Written last."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from drdrill.errors import DrdrillError

FORMAT_VERSION = 1


class ManifestError(DrdrillError):
    """A manifest is missing fields or is not valid JSON: the backup does not count."""


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
    """One stored object of a backup: its name inside the backup folder, role, size and sha256."""

    name: str
    role: str
    size: int
    sha256: str
    raw_bytes: int = 0


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

    @property
    def facts_match_consistent_point(self) -> bool:
        """True when the facts describe exactly the backup's own point in time."""
        return self.facts_point == self.consistent_point

    def all_objects(self) -> tuple[ObjectEntry, ...]:
        """Data objects plus the catch-up binlog segment, if any."""
        return self.objects + ((self.catchup,) if self.catchup else ())

    def to_json(self) -> str:
        """Stable, readable JSON (sorted keys)."""
        data = asdict(self)
        data["facts_match_consistent_point"] = self.facts_match_consistent_point
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "manifest") -> Manifest:
        """Parse and check a manifest; ManifestError when it is incomplete or malformed."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("format_version") != FORMAT_VERSION:
                raise ManifestError(f"{where}: unknown format_version {data.get('format_version')!r}.",
                                    "Upgrade drdrill to read this backup.")
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
            manifest = cls(**data)
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError(f"{where}: not a complete drdrill manifest ({exc}).",
                                "This backup cannot be trusted; take a new backup.") from exc
        if not manifest.objects:
            raise ManifestError(f"{where}: lists no data objects.", "Take a new backup.")
        return manifest
