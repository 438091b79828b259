"""The binlog archiving drill: ship every closed binlog to S3, then prove the archive chain has no gap."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from drdrill.errors import TLSFailed
from drdrill.findings import PASSED, DrillFailed, Finding, error_finding
from drdrill.config import Target
from drdrill.drills.layouts import binlog_layout
from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.binlog.archive import archive_closed_binlogs
from drdrill.storage.binlog.chain import check_archive
from drdrill.storage.binlog.index import list_archive
from drdrill.storage.objectstore import ObjectStore

STEPS = ["archive", "check_chain"]


def archive(target: Target, source: MySQLEndpoint, store: ObjectStore, *, work_dir: Path) -> dict[str, Any]:
    """Rotate, then upload every closed binlog not archived yet (idempotent); a purged file is a BINLOG_GAP."""
    try:
        result = archive_closed_binlogs(source, store, binlog_layout(target), work_dir=work_dir, rotate=True)
    except DrillFailed:
        raise
    except TLSFailed as exc:  # PyMySQL's login or mariadb-binlog's
        raise DrillFailed([error_finding(f"Archiving the binlogs of {source.describe()}", exc)]) from exc
    except Exception as exc:  # an unreachable source is not a pass
        raise DrillFailed([Finding("TARGET_UNAVAILABLE", f"Cannot archive binlogs of {source.describe()}: {exc}.")]) from exc
    return {**result, "newest_event_at": _iso(result.get("newest_event_at"))}


def check_chain(target: Target, store: ObjectStore, *, deep: bool = False) -> dict[str, Any]:
    """Every server's chain of archived files is consecutive and GTID-continuous (deep: re-hashed too); warnings
    (SECRET_IN_BINLOG) are returned as ``findings``, they do not fail the step."""
    began = time.monotonic()
    layout = binlog_layout(target)
    findings = check_archive(store, layout, deep=deep)
    if any(finding.verdict != PASSED for finding in findings):
        raise DrillFailed(findings)
    entries = list_archive(store, layout)
    return {"files": len(entries), "servers": sorted({entry.server_key for entry in entries}),
            "oldest_event_at": min((e.first_event_at for e in entries if e.first_event_at), default=None),
            "newest_event_at": max((e.last_event_at for e in entries if e.last_event_at), default=None),
            "deep": deep, "findings": [finding.to_dict() for finding in findings],
            "seconds": round(time.monotonic() - began, 3)}


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
