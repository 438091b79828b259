"""Filling the archive (each closed binlog file uploaded, then its index entry) and fetching files back for a replay."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from drdrill.endpoints import MySQLEndpoint, tls_verify_failed
from drdrill.errors import ToolError
from drdrill.findings import Finding
from drdrill.servers.gtid import format_gtid_position
from drdrill.servers.identity import read_identity
from drdrill.storage.binlog.decode import MARIADB_BINLOG, decode_binlog_file, sha256_file
from drdrill.storage.binlog.index import ArchivedBinlog, BinlogArchiveError, BinlogIndexError, indexed_files, \
    read_entry
from drdrill.storage.binlog.layout import OBJECT_SUFFIX, BinlogLayout
from drdrill.storage.binlog.names import binlog_name, describe_files, server_key, split_binlog_name
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.pipeline import STALL_TIMEOUT, bytes_below, run_watched, stream_command_to_s3
from drdrill.storage.client_encryption import DecryptFailed, KeyMissing
from drdrill.storage.verify import hash_object, undecryptable
from drdrill.toolenv import tool_environment


def binary_logs(source: MySQLEndpoint) -> list[tuple[str, int]]:
    """``SHOW BINARY LOGS``: each binlog file on the server with its size, oldest first (the last one is open)."""
    return [(str(row[0]), int(row[1])) for row in source.fetch_all("SHOW BINARY LOGS")]


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
        f"The source purged {describe_files(missing)} before it was archived: the archive of {key} ends at "
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
        returncode = run_watched(argv, stdout=subprocess.DEVNULL, stderr=stderr_file,
                                 progress=lambda: bytes_below(private / file), stall_timeout=STALL_TIMEOUT)
    if returncode != 0:
        said = stderr_path.read_text(errors="replace").strip()[-2000:] or "no message"
        if source.tls and tls_verify_failed(said):
            raise source.verify_failure(f"{MARIADB_BINLOG}: {said}")
        raise ToolError(f"{MARIADB_BINLOG} could not fetch {file} from {source.describe()} (exit {returncode}): {said}",
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
    raw_sha256 = sha256_file(path)
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
        archived_at=datetime.now(timezone.utc), clear_passwords=tuple(summary.clear_passwords),
        encryption=streamed.upload.encryption,
    )
    store.put_bytes(binlog_layout.index_key(key, file), entry.to_json())
    return entry


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
        try:
            size, sha256 = hash_object(store, object_key, copy_to=compressed, encryption=entry.encryption)
        except (DecryptFailed, KeyMissing) as exc:
            return undecryptable(exc, {**evidence, **entry.encryption})
        if size != entry.size or sha256 != entry.sha256:
            target.unlink(missing_ok=True)
            return Finding("BINLOG_CORRUPT",
                           f"s3://{store.bucket}/{object_key} is {size} bytes with sha256 {sha256[:16]}…; its index "
                           f"entry recorded {entry.size} bytes with sha256 {entry.sha256[:16]}….",
                           evidence={**evidence, "size": size, "expected_size": entry.size,
                                     "sha256": sha256, "expected_sha256": entry.sha256})
        done = subprocess.run(["zstd", "-d", "-q", "-f", str(compressed), "-o", str(target)],
                              capture_output=True, text=True, env=tool_environment(), check=False)
        raw_sha256 = sha256_file(target) if done.returncode == 0 else ""
        if done.returncode != 0 or target.stat().st_size != entry.raw_size or raw_sha256 != entry.raw_sha256:
            target.unlink(missing_ok=True)
            return Finding("BINLOG_CORRUPT",
                           f"{key}/{file} does not decompress to the recorded binlog ({entry.raw_size} bytes, sha256 "
                           f"{entry.raw_sha256[:16]}…){': ' + done.stderr.strip() if done.stderr.strip() else ''}.",
                           evidence=evidence)
        return target
    finally:
        compressed.unlink(missing_ok=True)
