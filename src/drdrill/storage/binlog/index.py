"""The index entry: what one archived binlog file holds (GTID and event-time ranges, sizes, sha256), and reading them.

An entry is stored at ``<server_key>/index/<file>.json`` after its object; its JSON form (sorted keys,
times as ISO 8601 UTC) is stable: readers ignore keys they do not know.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed, Finding
from drdrill.servers.gtid import parse_gtid_position
from drdrill.storage.binlog.clear_passwords import ClearPassword
from drdrill.storage.binlog.layout import INDEX_SUFFIX, BinlogLayout
from drdrill.storage.binlog.names import BINLOG_FILE, split_binlog_name
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore


class BinlogArchiveError(DrillFailed):
    """The archive could not be used (a gap, a corrupt object); carries the findings."""


class BinlogIndexError(DrdrillError):
    """An index entry is unreadable or incomplete."""


@dataclass(frozen=True)
class ArchivedBinlog:
    """One archived binlog file as its index entry records it.

    GTID fields are MariaDB GTID positions with one GTID per domain (``"0-1-7"``, or ``"0-1-7,3-1-2"``
    with several domains): ``first_gtid``/``last_gtid`` are the first/last GTID of each domain in this
    file (None when it holds no transaction); ``gtid_binlog_pos_start`` is the server's position when the
    file began (its Gtid_list event) and ``gtid_binlog_pos_end`` the position after its last event.
    ``size``/``sha256`` describe the stored object, ``raw_size``/``raw_sha256`` the binlog file itself.
    Event times are UTC, one-second resolution, the earliest and latest event header in the file.
    ``clear_passwords``: the account statements holding a clear-text password (position and kind only; absent
    from entries written before drdrill looked for them). ``encryption``: how the object is encrypted at rest
    (``UploadResult.encryption``; with ``client_side``, ``size``/``sha256`` are of the ciphertext).
    """

    file: str
    server_key: str
    server_id: int
    size: int
    sha256: str
    raw_size: int
    raw_sha256: str
    first_gtid: str | None
    last_gtid: str | None
    gtid_binlog_pos_start: str | None
    gtid_binlog_pos_end: str | None
    first_event_at: datetime | None
    last_event_at: datetime | None
    archived_at: datetime
    clear_passwords: tuple[ClearPassword, ...] = ()
    encryption: dict[str, str | int] = field(default_factory=dict, hash=False)

    @property
    def number(self) -> int:
        """The file's sequence number."""
        return split_binlog_name(self.file)[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as ISO 8601 UTC)."""
        data = asdict(self)
        for name in ("first_event_at", "last_event_at", "archived_at"):
            value = data[name]
            data[name] = value.astimezone(timezone.utc).isoformat() if value else None
        return data

    def to_json(self) -> bytes:
        """The index entry's bytes."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str, where: str = "index entry") -> ArchivedBinlog:
        """Parse an index entry; BinlogIndexError names what is wrong. Unknown keys are ignored."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise BinlogIndexError(f"{where} is not JSON: {exc}.") from exc
        if not isinstance(data, dict):
            raise BinlogIndexError(f"{where} is not a JSON object.")
        names = [item.name for item in fields(cls)]
        missing = [item.name for item in fields(cls) if item.name not in data and item.default is MISSING]
        if missing:
            raise BinlogIndexError(f"{where} lacks {', '.join(missing)}.")
        values = {name: data[name] for name in names if name in data}
        try:
            values["clear_passwords"] = tuple(ClearPassword(int(item["position"]), str(item["statement"]))
                                              for item in values.get("clear_passwords") or ())
            for name in ("first_event_at", "last_event_at", "archived_at"):
                values[name] = datetime.fromisoformat(values[name]) if values[name] else None
            for name in ("server_id", "size", "raw_size"):
                values[name] = int(values[name])
            split_binlog_name(values["file"])
            for name in ("first_gtid", "last_gtid", "gtid_binlog_pos_start", "gtid_binlog_pos_end"):
                parse_gtid_position(values[name])
        except (KeyError, TypeError, ValueError) as exc:
            raise BinlogIndexError(f"{where} has an invalid value: {exc}.") from exc
        if values["archived_at"] is None:
            raise BinlogIndexError(f"{where} has no archived_at.")
        return cls(**values)


def _sort_key(entry: ArchivedBinlog) -> tuple[str, str, int]:
    base, number, _ = split_binlog_name(entry.file)
    return entry.server_key, base, number


def indexed_files(store: ObjectStore, layout: BinlogLayout, key: str) -> list[str]:
    """The file names that have an index entry (one LIST request)."""
    root = layout.index_root(key)
    names = []
    for stored in store.list_objects(root):
        name = stored.key[len(root):]
        if name.endswith(INDEX_SUFFIX) and BINLOG_FILE.match(name[: -len(INDEX_SUFFIX)]) and "/" not in name:
            names.append(name[: -len(INDEX_SUFFIX)])
    return names


def read_entry(store: ObjectStore, layout: BinlogLayout, key: str, file: str) -> ArchivedBinlog | None:
    """One index entry, None when absent; BinlogIndexError when unreadable or not about this file."""
    where = f"s3://{store.bucket}/{layout.index_key(key, file)}"
    raw = store.get_bytes(layout.index_key(key, file))
    if raw is None:
        return None
    entry = ArchivedBinlog.from_json(raw, where=where)
    if entry.file != file or entry.server_key != key:
        raise BinlogIndexError(f"{where} describes {entry.server_key}/{entry.file}, not {key}/{file}.")
    return entry


def load_entries(store: ObjectStore, layout: BinlogLayout, key: str) -> tuple[list[ArchivedBinlog], list[Finding]]:
    """Every readable index entry of one server, sorted; unreadable ones become BINLOG_CORRUPT findings."""
    entries: list[ArchivedBinlog] = []
    findings: list[Finding] = []
    for file in indexed_files(store, layout, key):
        try:
            entry = read_entry(store, layout, key, file)
        except (BinlogIndexError, ValueError) as exc:
            findings.append(Finding("BINLOG_CORRUPT", f"Index entry of {key}/{file} is unusable: {exc}",
                                    evidence={"server_key": key, "file": file}))
            continue
        if entry is not None:
            entries.append(entry)
    entries.sort(key=_sort_key)
    return entries, findings


def server_keys(store: ObjectStore, layout: BinlogLayout | TargetLayout) -> list[str]:
    """The server keys the archive holds files for."""
    return sorted(store.list_folders(BinlogLayout.of(layout).root))


def list_archive(store: ObjectStore, layout: BinlogLayout | TargetLayout, key: str | None = None) -> list[ArchivedBinlog]:
    """Every index entry (of one server key, or all), sorted by server then file number.

    Raises BinlogArchiveError (BINLOG_CORRUPT) when an index entry is unreadable: a listing that
    silently left a file out would hide a gap.
    """
    binlog_layout = BinlogLayout.of(layout)
    entries: list[ArchivedBinlog] = []
    findings: list[Finding] = []
    for each in [key] if key else server_keys(store, binlog_layout):
        found, problems = load_entries(store, binlog_layout, each)
        entries += found
        findings += problems
    if findings:
        raise BinlogArchiveError(findings)
    return sorted(entries, key=_sort_key)
