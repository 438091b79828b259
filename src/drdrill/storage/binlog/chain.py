"""The archive's chain check: no missing file or object, GTIDs that continue, bytes as recorded (deep), and the
files that hold a clear-text password (a warning)."""

from __future__ import annotations

from collections.abc import Iterator

from drdrill.findings import Finding
from drdrill.servers.gtid import parse_gtid_position
from drdrill.storage.binlog.clear_passwords import clear_password_warning
from drdrill.storage.binlog.fork import BinlogFork, read_forks
from drdrill.storage.binlog.index import ArchivedBinlog, load_entries, server_keys
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.binlog.names import binlog_name, describe_files, split_binlog_name
from drdrill.storage.client_encryption import DecryptFailed, KeyMissing
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.verify import hash_object, undecryptable


def check_archive(store: ObjectStore, layout: BinlogLayout | TargetLayout, *, deep: bool = False) -> list[Finding]:
    """Findings about the archive's chain: missing files or objects, GTID jumps, and (deep) changed bytes.

    Per server key the file numbers must run without holes from the first archived file, each index
    entry must have its object (of the recorded size; with ``deep`` also of the recorded sha256),
    and the GTIDs of consecutive files must continue (next seq_no = previous + 1 per domain). Where a
    fork record names the newer file, the older one must end at the record's ``old_end`` and the newer
    continue from its ``resumed_from`` instead: the one discontinuity a fork record excuses. A file whose entry
    records account statements with a clear-text password is a SECRET_IN_BINLOG warning (positions, never the text).
    """
    binlog_layout = BinlogLayout.of(layout)
    findings: list[Finding] = []
    for key in server_keys(store, binlog_layout):
        entries, problems = load_entries(store, binlog_layout, key)
        forks, unusable = read_forks(store, binlog_layout, key)
        findings += problems + unusable
        findings += _check_objects(store, binlog_layout, key, entries, deep)
        findings += [_clear_password_warning(key, entry) for entry in entries if entry.clear_passwords]
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
            try:
                size, sha256 = hash_object(store, object_key, encryption=entry.encryption)
            except (DecryptFailed, KeyMissing) as exc:
                findings.append(undecryptable(exc, {**evidence, **entry.encryption}))
                continue
        if size != entry.size or sha256 != entry.sha256:
            findings.append(Finding(
                "BINLOG_CORRUPT",
                f"{where} is {size} bytes{f' with sha256 {sha256[:16]}…' if deep else ''}; its index entry "
                f"recorded {entry.size} bytes with sha256 {entry.sha256[:16]}….",
                evidence={**evidence, "size": size, "expected_size": entry.size,
                          "sha256": sha256 if deep else None, "expected_sha256": entry.sha256},
            ))
    return findings


def _clear_password_warning(key: str, entry: ArchivedBinlog) -> Finding:
    return clear_password_warning(f"The archived {key}/{entry.file}", "the archive", entry.clear_passwords,
                                  {"server_key": key, "file": entry.file})


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
                f"The archive of {key} lacks {describe_files(missing)} between {before.file} and {after.file}: "
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


def _time_range(entry: ArchivedBinlog) -> str:
    since = entry.first_event_at.isoformat() if entry.first_event_at else "?"
    until = entry.last_event_at.isoformat() if entry.last_event_at else "?"
    return f"the binlog from {since} to {until}"
