"""The gap-free binlog archive of one target: each closed binlog file zstd-compressed in S3, with an index entry.

Layout, per server identity (every server names its files ``mysql-bin.NNNNNN``)::

    <prefix>/<target>/binlog/<server_key>/<file>.zst           the raw binlog file, compressed
    <prefix>/<target>/binlog/<server_key>/index/<file>.json    its index entry, written after the object
    <prefix>/<target>/binlog/<server_key>/forks/<file>.json    a fork record: the history restarts at <file>

An object without its index entry does not count (a killed run); the next run archives the file again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from drdrill.findings import DrillFailed, Finding
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError, ToolError
from drdrill.servers.identity import ServerIdentity, read_identity
from drdrill.storage.binlog_fork import BinlogFork
from drdrill.storage.layout import TargetLayout, target_root
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.pipeline import stream_command_to_s3
from drdrill.storage.verify import hash_object
from drdrill.toolenv import tool_environment

MARIADB_BINLOG = "mariadb-binlog"
OBJECT_SUFFIX = ".zst"
INDEX_SUFFIX = ".json"
HASH_BLOCK = 1024 * 1024

# ``#261121  8:28:48 server id 1  end_log_pos 1534 CRC32 0x374a6897 \tGTID 0-1-7 trans`` (CRC32 absent
# when binlog_checksum=NONE). The time is in the decoding process's time zone: we decode with TZ=UTC.
_EVENT_HEADER = re.compile(
    rb"^#(\d{6})\s+(\d{1,2}):(\d{2}):(\d{2})\s+server id\s+\d+\s+end_log_pos\s+\d+\s+"
    rb"(?:CRC32\s+0x[0-9a-fA-F]+\s+)?(.*)$"
)
_GTID_EVENT = re.compile(rb"^GTID\s+(\d+)-(\d+)-(\d+)\b")
_GTID_LIST_EVENT = re.compile(rb"^Gtid list\s*\[(.*)$")
_GTID = re.compile(r"^(\d+)-(\d+)-(\d+)$")
_BINLOG_FILE = re.compile(r"^(?P<base>.+)\.(?P<number>\d+)$")


class BinlogArchiveError(DrillFailed):
    """The archive could not be used (a gap, a corrupt object); carries the findings."""


class BinlogIndexError(DrdrillError):
    """An index entry is unreadable or incomplete."""


# -- names -----------------------------------------------------------------------------------------


def server_key(identity: ServerIdentity) -> str:
    """``<server_id>-<8 hex of sha256(hostname:port:datadir)>``: one archive folder per server, new after a failover."""
    where = f"{identity.hostname}:{identity.port}:{identity.datadir.rstrip('/')}"
    return f"{identity.server_id}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class BinlogLayout:
    """Key names of a target's binlog archive under a bucket prefix."""

    prefix: str
    target: str

    @classmethod
    def of(cls, layout: BinlogLayout | TargetLayout) -> BinlogLayout:
        """The binlog layout of a target layout (or the layout itself)."""
        return layout if isinstance(layout, BinlogLayout) else cls(layout.prefix, layout.target)

    @property
    def root(self) -> str:
        """The folder with one sub-folder per server key."""
        return f"{target_root(self.prefix, self.target)}binlog/"

    def server_root(self, key: str) -> str:
        """The folder of one server's archived files."""
        return f"{self.root}{key}/"

    def index_root(self, key: str) -> str:
        """The folder of one server's index entries."""
        return f"{self.server_root(key)}index/"

    def object_key(self, key: str, file: str) -> str:
        """The compressed binlog file."""
        return f"{self.server_root(key)}{file}{OBJECT_SUFFIX}"

    def index_key(self, key: str, file: str) -> str:
        """The index entry; its presence is what makes the object count."""
        return f"{self.index_root(key)}{file}{INDEX_SUFFIX}"

    def fork_root(self, key: str) -> str:
        """The folder of one server's fork records."""
        return f"{self.server_root(key)}forks/"

    def fork_key(self, key: str, first_file: str) -> str:
        """The fork record of the history that restarts at ``first_file``."""
        return f"{self.fork_root(key)}{first_file}{INDEX_SUFFIX}"


def binary_logs(source: MySQLEndpoint) -> list[tuple[str, int]]:
    """``SHOW BINARY LOGS``: each binlog file on the server with its size, oldest first (the last one is open)."""
    return [(str(row[0]), int(row[1])) for row in source.fetch_all("SHOW BINARY LOGS")]


def split_binlog_name(file: str) -> tuple[str, int, int]:
    """``mysql-bin.000042`` → ``("mysql-bin", 42, 6)`` (base name, number, digits)."""
    match = _BINLOG_FILE.match(file)
    if not match:
        raise ValueError(f"{file!r} is not a binlog file name like mysql-bin.000042")
    return match["base"], int(match["number"]), len(match["number"])


def binlog_name(base: str, number: int, digits: int) -> str:
    """Inverse of split_binlog_name."""
    return f"{base}.{number:0{digits}d}"


# -- GTID positions --------------------------------------------------------------------------------


def parse_gtid_position(text: str | None) -> dict[int, tuple[int, int]]:
    """``"0-1-9,3-1-2"`` → ``{0: (1, 9), 3: (1, 2)}`` (domain → server_id, seq_no); the highest seq_no per domain wins."""
    if text is not None and not isinstance(text, str):  # e.g. a number in a hand-edited JSON record
        raise ValueError(f"{text!r} is not a GTID position (a string like 0-1-42)")
    position: dict[int, tuple[int, int]] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        match = _GTID.match(part)
        if not match:
            raise ValueError(f"{part!r} is not a GTID like 0-1-42")
        domain, server, seq = (int(group) for group in match.groups())
        if domain not in position or seq >= position[domain][1]:
            position[domain] = (server, seq)
    return position


def format_gtid_position(position: dict[int, tuple[int, int]]) -> str | None:
    """Inverse of parse_gtid_position, domains in order; None when empty."""
    if not position:
        return None
    return ",".join(f"{domain}-{server}-{seq}" for domain, (server, seq) in sorted(position.items()))


# -- the index entry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedBinlog:
    """One archived binlog file as its index entry records it.

    GTID fields are MariaDB GTID positions with one GTID per domain (``"0-1-7"``, or ``"0-1-7,3-1-2"``
    with several domains): ``first_gtid``/``last_gtid`` are the first/last GTID of each domain in this
    file (None when it holds no transaction); ``gtid_binlog_pos_start`` is the server's position when the
    file began (its Gtid_list event) and ``gtid_binlog_pos_end`` the position after its last event.
    ``size``/``sha256`` describe the stored object, ``raw_size``/``raw_sha256`` the binlog file itself.
    Event times are UTC, one-second resolution, the earliest and latest event header in the file.
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
        missing = [name for name in names if name not in data]
        if missing:
            raise BinlogIndexError(f"{where} lacks {', '.join(missing)}.")
        values = {name: data[name] for name in names}
        try:
            for name in ("first_event_at", "last_event_at", "archived_at"):
                values[name] = datetime.fromisoformat(values[name]) if values[name] else None
            for name in ("server_id", "size", "raw_size"):
                values[name] = int(values[name])
            split_binlog_name(values["file"])
            for name in ("first_gtid", "last_gtid", "gtid_binlog_pos_start", "gtid_binlog_pos_end"):
                parse_gtid_position(values[name])
        except (TypeError, ValueError) as exc:
            raise BinlogIndexError(f"{where} has an invalid value: {exc}.") from exc
        if values["archived_at"] is None:
            raise BinlogIndexError(f"{where} has no archived_at.")
        return cls(**values)


# -- reading a binlog file -------------------------------------------------------------------------


@dataclass
class BinlogSummary:
    """What decoding one binlog file found: GTID range per domain and event time range."""

    first: dict[int, tuple[int, int]]
    last: dict[int, tuple[int, int]]
    start: dict[int, tuple[int, int]]
    first_event_at: datetime | None
    last_event_at: datetime | None
    events: int

    @property
    def end(self) -> dict[int, tuple[int, int]]:
        """The server's GTID position after this file: the start position advanced by this file's GTIDs."""
        return {**self.start, **self.last}


def summarize_decoded_binlog(lines: Iterable[bytes]) -> BinlogSummary:
    """Read ``mariadb-binlog`` text output (decoded with TZ=UTC): GTIDs per domain, Gtid_list, event times.

    Only event header lines count (``#YYMMDD HH:MM:SS server id …``), so statement text, ``#Q>``
    annotations and base64 row images cannot be mistaken for events.
    """
    summary = BinlogSummary({}, {}, {}, None, None, 0)
    gtid_list: bytearray | None = None
    for line in lines:
        if not line.startswith(b"#"):
            continue
        line = line.rstrip(b"\r\n")
        if gtid_list is not None:  # a Gtid list continues on lines like "# 3-1-2,"
            gtid_list += line.lstrip(b"# ")
            if b"]" in line:
                _read_gtid_list(summary, bytes(gtid_list))
                gtid_list = None
            continue
        header = _EVENT_HEADER.match(line)
        if not header:
            continue
        day, hour, minute, second, body = header.groups()
        at = datetime.strptime(f"{day.decode()} {int(hour):02d}:{minute.decode()}:{second.decode()}",
                               "%y%m%d %H:%M:%S").replace(tzinfo=timezone.utc)
        summary.events += 1
        if summary.first_event_at is None or at < summary.first_event_at:
            summary.first_event_at = at
        if summary.last_event_at is None or at > summary.last_event_at:
            summary.last_event_at = at
        if gtid := _GTID_EVENT.match(body):
            domain, server, seq = (int(group) for group in gtid.groups())
            summary.first.setdefault(domain, (server, seq))
            summary.last[domain] = (server, seq)
        elif listed := _GTID_LIST_EVENT.match(body):
            gtid_list = bytearray(listed.group(1))
            if b"]" in body:
                _read_gtid_list(summary, bytes(gtid_list))
                gtid_list = None
    return summary


def _read_gtid_list(summary: BinlogSummary, text: bytes) -> None:
    """The first Gtid_list event of a file is the server's GTID state when the file began."""
    if not summary.start:
        summary.start = parse_gtid_position(text.split(b"]")[0].decode())


def decode_binlog_file(path: Path, stderr_path: Path) -> BinlogSummary:
    """Decode a local binlog file with ``mariadb-binlog`` (TZ=UTC, no option files) and summarize it."""
    env = {**tool_environment(), "TZ": "UTC"}
    with open(stderr_path, "wb") as stderr_file:
        process = subprocess.Popen([MARIADB_BINLOG, "--no-defaults", str(path)], stdout=subprocess.PIPE,
                                   stderr=stderr_file, env=env)
        assert process.stdout is not None
        try:
            summary = summarize_decoded_binlog(process.stdout)
        finally:
            process.stdout.close()
            process.wait()
    if process.returncode != 0:
        raise ToolError(f"{MARIADB_BINLOG} could not decode {path.name} (exit {process.returncode}): "
                        f"{stderr_path.read_text(errors='replace').strip()[-2000:] or 'no message'}",
                        "The file on the source is damaged or not a binlog; check the source's error log.")
    return summary


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# -- reading the archive ---------------------------------------------------------------------------


def _sort_key(entry: ArchivedBinlog) -> tuple[str, str, int]:
    base, number, _ = split_binlog_name(entry.file)
    return entry.server_key, base, number


def indexed_files(store: ObjectStore, layout: BinlogLayout, key: str) -> list[str]:
    """The file names that have an index entry (one LIST request)."""
    root = layout.index_root(key)
    names = []
    for stored in store.list_objects(root):
        name = stored.key[len(root):]
        if name.endswith(INDEX_SUFFIX) and _BINLOG_FILE.match(name[: -len(INDEX_SUFFIX)]) and "/" not in name:
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


def _load_entries(store: ObjectStore, layout: BinlogLayout, key: str) -> tuple[list[ArchivedBinlog], list[Finding]]:
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


def write_fork(store: ObjectStore, layout: BinlogLayout | TargetLayout, fork: BinlogFork) -> None:
    """Store a fork record under its server key, named by the file the new history starts with."""
    store.put_bytes(BinlogLayout.of(layout).fork_key(fork.server_key, fork.first_file), fork.to_json())


def read_forks(store: ObjectStore, layout: BinlogLayout | TargetLayout,
               key: str) -> tuple[dict[str, BinlogFork], list[Finding]]:
    """One server's fork records by the file each new history starts with; unusable ones become BINLOG_CORRUPT."""
    binlog_layout = BinlogLayout.of(layout)
    forks: dict[str, BinlogFork] = {}
    findings: list[Finding] = []
    for stored in store.list_objects(binlog_layout.fork_root(key)):
        where = f"s3://{store.bucket}/{stored.key}"
        try:
            fork = BinlogFork.from_json(store.get_bytes(stored.key) or b"", where)
            split_binlog_name(fork.last_file)
            split_binlog_name(fork.first_file)
            for position in (fork.old_end, fork.resumed_from, *fork.rolled_back):
                parse_gtid_position(position)
            if stored.key != binlog_layout.fork_key(fork.server_key, fork.first_file) or fork.server_key != key:
                raise ValueError(f"{where} describes {fork.server_key}/{fork.first_file}")
        except ValueError as exc:
            findings.append(Finding("BINLOG_CORRUPT", f"Fork record {where} is unusable: {exc}.",
                                    evidence={"server_key": key, "object": stored.key}))
            continue
        forks[fork.first_file] = fork
    return forks, findings


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
        found, problems = _load_entries(store, binlog_layout, each)
        entries += found
        findings += problems
    if findings:
        raise BinlogArchiveError(findings)
    return sorted(entries, key=_sort_key)


def newest_archived_event(store: ObjectStore, layout: BinlogLayout | TargetLayout) -> datetime | None:
    """The newest event time in the archive (the archive is complete up to it): the predicted-RPO input."""
    times = [entry.last_event_at for entry in list_archive(store, layout) if entry.last_event_at]
    return max(times) if times else None


# -- archiving -------------------------------------------------------------------------------------


def archive_closed_binlogs(
    source: MySQLEndpoint,
    store: ObjectStore,
    layout: BinlogLayout | TargetLayout,
    *,
    work_dir: Path,
    rotate: bool = True,
) -> dict[str, Any]:
    """Archive every closed binlog file of ``source`` that has no index entry yet; safe to re-run.

    With ``rotate`` the current file is closed first (``FLUSH BINARY LOGS``, needs RELOAD). Files the
    source purged before they were archived are reported as BINLOG_GAP findings, not raised. Returns
    ``{"server_key", "uploaded", "already_archived", "bytes", "findings", "newest_event_at", "seconds"}``.
    """
    began = time.monotonic()
    binlog_layout = BinlogLayout.of(layout)
    identity = read_identity(source)
    key = server_key(identity)
    if rotate:
        source.fetch_all("FLUSH BINARY LOGS")
    on_source = binary_logs(source)
    closed = on_source[:-1]
    indexed = set(indexed_files(store, binlog_layout, key))
    findings = purged_before_archiving(store, binlog_layout, key, indexed, on_source)

    newest: datetime | None = None
    already = 0
    to_archive: list[tuple[str, int]] = []
    for file, size in closed:
        if file not in indexed:
            to_archive.append((file, size))
            continue
        already += 1
        entry = read_entry(store, binlog_layout, key, file)
        if entry is not None and entry.raw_size != size:
            findings.append(Finding(
                "BINLOG_GAP",
                f"The source's {file} is {size} bytes but the archived {key}/{file} is {entry.raw_size} bytes: "
                "the source's binlog history no longer matches the archive (RESET MASTER?), so its new "
                "files cannot be archived under the same names.",
                fix="Check what reset the source's binlogs; move the old archive aside or start a new one, "
                    "then take a new full backup.",
                evidence={"server_key": key, "file": file, "source_size": size, "archived_size": entry.raw_size},
            ))
    if indexed:  # the highest-numbered archived file holds the newest archived event
        latest = read_entry(store, binlog_layout, key, max(indexed, key=lambda name: split_binlog_name(name)[1]))
        newest = latest.last_event_at if latest else None

    uploaded: list[str] = []
    uploaded_bytes = 0
    work_dir.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="binlog-", dir=work_dir))  # 0700
    try:
        for file, size in to_archive:
            entry = _archive_one(source, store, binlog_layout, key, identity.server_id, file, size, private)
            uploaded.append(file)
            uploaded_bytes += entry.raw_size
            if entry.last_event_at and (newest is None or entry.last_event_at > newest):
                newest = entry.last_event_at
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return {
        "server_key": key,
        "uploaded": uploaded,
        "already_archived": already,
        "bytes": uploaded_bytes,
        "findings": [finding.to_dict() for finding in findings],
        "newest_event_at": newest.isoformat() if newest else None,
        "seconds": round(time.monotonic() - began, 3),
    }


def purged_before_archiving(store: ObjectStore, layout: BinlogLayout, key: str, indexed: set[str],
                            on_source: Sequence[tuple[str, int]]) -> list[Finding]:
    """BINLOG_GAP when the source's oldest binlog is newer than the archive's last file + 1."""
    if not indexed or not on_source:
        return []
    base, oldest, digits = split_binlog_name(on_source[0][0])
    archived = sorted(split_binlog_name(name)[1] for name in indexed if split_binlog_name(name)[0] == base)
    if not archived or oldest <= archived[-1] + 1:
        return []
    last = binlog_name(base, archived[-1], digits)
    missing = [binlog_name(base, number, digits) for number in range(archived[-1] + 1, oldest)]
    entry = read_entry(store, layout, key, last)
    since = entry.last_event_at.isoformat() if entry and entry.last_event_at else None
    return [Finding(
        "BINLOG_GAP",
        f"The source purged {_describe_files(missing)} before it was archived: the archive of {key} ends at "
        f"{last}{f' ({since})' if since else ''} and the source's oldest binlog is {on_source[0][0]}. "
        "Point-in-time recovery cannot cross this gap.",
        evidence={"server_key": key, "missing": missing, "archived_until": last, "source_oldest": on_source[0][0],
                  "gap_from": since},
    )]


def _fetch_raw(source: MySQLEndpoint, file: str, private: Path) -> Path:
    """Copy one binlog file from the server byte for byte (``mariadb-binlog --read-from-remote-server --raw``)."""
    stderr_path = private / "mariadb-binlog.fetch.stderr.log"
    with source.option_file(directory=private) as option_file, open(stderr_path, "wb") as stderr_file:
        argv = [MARIADB_BINLOG, f"--defaults-extra-file={option_file}", "--read-from-remote-server", "--raw",
                f"--result-file={private}/", file]
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=stderr_file, env=tool_environment(),
                              check=False)
    if done.returncode != 0:
        raise ToolError(f"{MARIADB_BINLOG} could not fetch {file} from {source.describe()} (exit {done.returncode}): "
                        f"{stderr_path.read_text(errors='replace').strip()[-2000:] or 'no message'}",
                        "Check that the user has REPLICATION SLAVE and the file is still on the source; "
                        "re-run (a purged file is then reported as a gap).")
    return private / file


def _archive_one(source: MySQLEndpoint, store: ObjectStore, layout: BinlogLayout, key: str, server_id: int,
                 file: str, expected_size: int, private: Path) -> ArchivedBinlog:
    """Fetch one closed file, then archive it like any complete local copy; the local copy is deleted."""
    path = _fetch_raw(source, file, private)
    try:
        return archive_binlog_file(path, store, layout, key, server_id, expected_size=expected_size,
                                   work_dir=private)
    finally:
        path.unlink(missing_ok=True)


def archive_binlog_file(path: Path, store: ObjectStore, layout: BinlogLayout | TargetLayout, key: str,
                        server_id: int, *, expected_size: int | None, work_dir: Path) -> ArchivedBinlog:
    """Decode, compress+upload one complete local binlog file, then write its index entry (the object first).

    ``path`` must be named like the server's file (``mysql-bin.000042``) and hold all of it:
    ``expected_size`` (the size the source lists, when known) guards against a short copy.
    ``work_dir`` is a private directory for the tools' stderr logs. The file itself is left in place.
    """
    binlog_layout = BinlogLayout.of(layout)
    file = path.name
    split_binlog_name(file)
    raw_size = path.stat().st_size
    if expected_size is not None and raw_size != expected_size:
        raise ToolError(f"Fetched {file} is {raw_size} bytes but the source lists it as {expected_size} bytes.",
                        "The copy is incomplete; re-run the archiving.")
    summary = decode_binlog_file(path, work_dir / "mariadb-binlog.decode.stderr.log")
    raw_sha256 = _sha256_file(path)
    streamed = stream_command_to_s3(["cat", str(path)], store, binlog_layout.object_key(key, file),
                                    stderr_path=work_dir / "cat.stderr.log")
    if streamed.outcome.raw_bytes != raw_size:
        raise ToolError(f"Uploaded {streamed.outcome.raw_bytes} bytes of {file}, expected {raw_size}.",
                        "Re-run the archiving; the index entry was not written.")
    entry = ArchivedBinlog(
        file=file, server_key=key, server_id=server_id,
        size=streamed.upload.size, sha256=streamed.upload.sha256, raw_size=raw_size, raw_sha256=raw_sha256,
        first_gtid=format_gtid_position(summary.first), last_gtid=format_gtid_position(summary.last),
        gtid_binlog_pos_start=format_gtid_position(summary.start),
        gtid_binlog_pos_end=format_gtid_position(summary.end),
        first_event_at=summary.first_event_at, last_event_at=summary.last_event_at,
        archived_at=datetime.now(timezone.utc),
    )
    store.put_bytes(binlog_layout.index_key(key, file), entry.to_json())
    return entry


# -- checking --------------------------------------------------------------------------------------


def check_archive(store: ObjectStore, layout: BinlogLayout | TargetLayout, *, deep: bool = False) -> list[Finding]:
    """Findings about the archive's chain: missing files or objects, GTID jumps, and (deep) changed bytes.

    Per server key the file numbers must run without holes from the first archived file, each index
    entry must have its object (of the recorded size; with ``deep`` also of the recorded sha256),
    and the GTIDs of consecutive files must continue (next seq_no = previous + 1 per domain). Where a
    fork record names the newer file, the older one must end at the record's ``old_end`` and the newer
    continue from its ``resumed_from`` instead: the one discontinuity a fork record excuses.
    """
    binlog_layout = BinlogLayout.of(layout)
    findings: list[Finding] = []
    for key in server_keys(store, binlog_layout):
        entries, problems = _load_entries(store, binlog_layout, key)
        forks, unusable = read_forks(store, binlog_layout, key)
        findings += problems + unusable
        findings += _check_objects(store, binlog_layout, key, entries, deep)
        for chain in _chains(entries):
            findings += _check_chain(key, chain, forks)
    return findings


def _check_objects(store: ObjectStore, layout: BinlogLayout, key: str, entries: list[ArchivedBinlog],
                   deep: bool) -> list[Finding]:
    root = layout.server_root(key)
    stored = {item.key: item.size for item in store.list_objects(root) if "/" not in item.key[len(root):]}
    findings = []
    for entry in entries:
        object_key = layout.object_key(key, entry.file)
        where = f"s3://{store.bucket}/{object_key}"
        evidence = {"server_key": key, "file": entry.file, "object": object_key}
        if object_key not in stored:
            findings.append(Finding("BINLOG_GAP", f"{where} is missing although its index entry exists; "
                                    f"{_time_range(entry)} cannot be replayed.", evidence=evidence))
            continue
        size, sha256 = stored[object_key], entry.sha256
        if deep and size == entry.size:
            size, sha256 = hash_object(store, object_key)
        if size != entry.size or sha256 != entry.sha256:
            findings.append(Finding(
                "BINLOG_CORRUPT",
                f"{where} is {size} bytes{f' with sha256 {sha256[:16]}…' if deep else ''}; its index entry "
                f"recorded {entry.size} bytes with sha256 {entry.sha256[:16]}….",
                evidence={**evidence, "size": size, "expected_size": entry.size,
                          "sha256": sha256 if deep else None, "expected_sha256": entry.sha256},
            ))
    return findings


def _chains(entries: list[ArchivedBinlog]) -> Iterator[list[ArchivedBinlog]]:
    """Entries of one server grouped by binlog base name (in order)."""
    groups: dict[str, list[ArchivedBinlog]] = {}
    for entry in entries:
        groups.setdefault(split_binlog_name(entry.file)[0], []).append(entry)
    yield from groups.values()


def _check_chain(key: str, chain: list[ArchivedBinlog], forks: dict[str, BinlogFork]) -> list[Finding]:
    findings = []
    for before, after in zip(chain, chain[1:]):
        base, first_missing, digits = split_binlog_name(before.file)
        if after.number > before.number + 1:
            missing = [binlog_name(base, number, digits) for number in range(first_missing + 1, after.number)]
            since = before.last_event_at.isoformat() if before.last_event_at else "?"
            until = after.first_event_at.isoformat() if after.first_event_at else "?"
            findings.append(Finding(
                "BINLOG_GAP",
                f"The archive of {key} lacks {_describe_files(missing)} between {before.file} and {after.file}: "
                f"the binlog from {since} to {until} cannot be replayed.",
                evidence={"server_key": key, "missing": missing, "after": before.file, "before": after.file,
                          "gap_from": since, "gap_until": until},
            ))
            continue
        fork = forks.get(after.file)
        if fork is None:
            findings += _check_gtid_continuity(key, before, after, before.gtid_binlog_pos_end)
        elif not _fork_explains(key, fork, before, after):
            findings.append(_fork_mismatch(key, fork, before, after))
    return findings


def _fork_explains(key: str, fork: BinlogFork, before: ArchivedBinlog, after: ArchivedBinlog) -> bool:
    """The old history ends where the record says, and the new one continues from the record's resume position."""
    return (fork.last_file == before.file
            and parse_gtid_position(fork.old_end) == parse_gtid_position(before.gtid_binlog_pos_end)
            and not _check_gtid_continuity(key, before, after, fork.resumed_from))


def _fork_mismatch(key: str, fork: BinlogFork, before: ArchivedBinlog, after: ArchivedBinlog) -> Finding:
    return Finding(
        "BINLOG_GAP",
        f"The archive of {key} does not match its fork record at {fork.first_file}: the record says {fork.last_file} "
        f"ends at {fork.old_end} and {fork.first_file} continues from {fork.resumed_from}, but {before.file} ends at "
        f"{before.gtid_binlog_pos_end} and {after.file} begins at {after.first_gtid} (Gtid_list "
        f"{after.gtid_binlog_pos_start}); transactions are missing or the record is wrong.",
        evidence={"server_key": key, "after": before.file, "before": after.file, "fork": fork.first_file,
                  "resumed_from": fork.resumed_from, "old_end": fork.old_end},
    )


def _check_gtid_continuity(key: str, before: ArchivedBinlog, after: ArchivedBinlog,
                           before_end: str | None) -> list[Finding]:
    """Per domain: ``after``'s first seq_no follows ``before_end`` (normally ``before``'s end), its Gtid_list agrees."""
    end = parse_gtid_position(before_end)
    start = parse_gtid_position(after.gtid_binlog_pos_start)
    first = parse_gtid_position(after.first_gtid)
    findings = []
    for domain, (_, seq) in sorted(first.items()):
        if domain in end and seq != end[domain][1] + 1:
            findings.append(_gtid_gap(key, before, after, domain, end[domain][1], seq,
                                      f"{after.file} begins domain {domain} at seq_no {seq}"))
    for domain, (_, seq) in sorted(start.items()):
        if domain in end and seq != end[domain][1] and domain not in {f.evidence["domain"] for f in findings}:
            findings.append(_gtid_gap(key, before, after, domain, end[domain][1], seq + 1,
                                      f"{after.file}'s Gtid_list says domain {domain} was at seq_no {seq}"))
    return findings


def _gtid_gap(key: str, before: ArchivedBinlog, after: ArchivedBinlog, domain: int, last: int, next_seq: int,
              what: str) -> Finding:
    return Finding(
        "BINLOG_GAP",
        f"GTIDs do not continue in the archive of {key}: {before.file} ends domain {domain} at seq_no {last} but "
        f"{what}; transactions between them are missing or the files come from different histories.",
        evidence={"server_key": key, "after": before.file, "before": after.file, "domain": domain,
                  "last_seq_no": last, "next_seq_no": next_seq},
    )


def _describe_files(files: list[str]) -> str:
    if len(files) == 1:
        return files[0]
    return f"{files[0]} … {files[-1]} ({len(files)} files)"


def _time_range(entry: ArchivedBinlog) -> str:
    since = entry.first_event_at.isoformat() if entry.first_event_at else "?"
    until = entry.last_event_at.isoformat() if entry.last_event_at else "?"
    return f"the binlog from {since} to {until}"


# -- fetching for a replay -------------------------------------------------------------------------


def fetch_binlogs(store: ObjectStore, layout: BinlogLayout | TargetLayout, key: str, files: Sequence[str],
                  into: Path) -> list[Path]:
    """Download, verify (sha256 of the object and of the binlog) and decompress ``files`` into ``into``.

    Returns the binlog paths in the given order. Raises BinlogArchiveError carrying BINLOG_GAP (no
    index entry or object) or BINLOG_CORRUPT (bytes differ) findings; files that failed are removed.
    """
    binlog_layout = BinlogLayout.of(layout)
    into.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    findings: list[Finding] = []
    for file in files:
        found = _fetch_one(store, binlog_layout, key, file, into)
        if isinstance(found, Finding):
            findings.append(found)
        else:
            paths.append(found)
    if findings:
        raise BinlogArchiveError(findings)
    return paths


def _fetch_one(store: ObjectStore, layout: BinlogLayout, key: str, file: str, into: Path) -> Path | Finding:
    evidence: dict[str, Any] = {"server_key": key, "file": file}
    try:
        entry = read_entry(store, layout, key, file)
    except (BinlogIndexError, ValueError) as exc:
        return Finding("BINLOG_CORRUPT", f"Index entry of {key}/{file} is unusable: {exc}", evidence=evidence)
    object_key = layout.object_key(key, file)
    if entry is None or store.head(object_key) is None:
        what = "index entry" if entry is None else "object"
        return Finding("BINLOG_GAP", f"{key}/{file} is not in the archive (its {what} is missing).", evidence=evidence)
    compressed = into / f"{file}{OBJECT_SUFFIX}"
    target = into / file
    try:
        size, sha256 = hash_object(store, object_key, copy_to=compressed)
        if size != entry.size or sha256 != entry.sha256:
            target.unlink(missing_ok=True)
            return Finding("BINLOG_CORRUPT",
                           f"s3://{store.bucket}/{object_key} is {size} bytes with sha256 {sha256[:16]}…; its index "
                           f"entry recorded {entry.size} bytes with sha256 {entry.sha256[:16]}….",
                           evidence={**evidence, "size": size, "expected_size": entry.size,
                                     "sha256": sha256, "expected_sha256": entry.sha256})
        done = subprocess.run(["zstd", "-d", "-q", "-f", str(compressed), "-o", str(target)],
                              capture_output=True, text=True, env=tool_environment(), check=False)
        raw_sha256 = _sha256_file(target) if done.returncode == 0 else ""
        if done.returncode != 0 or target.stat().st_size != entry.raw_size or raw_sha256 != entry.raw_sha256:
            target.unlink(missing_ok=True)
            return Finding("BINLOG_CORRUPT",
                           f"{key}/{file} does not decompress to the recorded binlog ({entry.raw_size} bytes, sha256 "
                           f"{entry.raw_sha256[:16]}…){': ' + done.stderr.strip() if done.stderr.strip() else ''}.",
                           evidence=evidence)
        return target
    finally:
        compressed.unlink(missing_ok=True)
