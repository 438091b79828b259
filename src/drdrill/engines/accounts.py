"""The accounts object every engine's backup carries (``accounts.sql.zst``), and its replay around the data.

Written beside the data object whatever the engine. A logical restore replays its accounts section before the
data (a view over a DEFINER view cannot be created while its definer does not exist) and its grants on tables,
columns and routines after it (they need their objects). A physical copy already holds the source's grant
tables: the whole script replays after it (``CREATE OR REPLACE``), leaving them as a logical restore has them,
so every engine ends with the same accounts. Password hashes stay inside the object: a failed replay's message,
evidence and log are redacted.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.base import BackupJob
from drdrill.engines.restore import RestoreFailed, load_sql_stream
from drdrill.servers.accounts import (
    ACCOUNTS_CREATED,
    SCRIPT_TRAILER,
    read_accounts_script,
    redact_account_secrets,
    script_secrets,
)
from drdrill.storage.manifest import Manifest, ObjectEntry
from drdrill.storage.pipeline import stream_bytes_to_s3
from drdrill.toolenv import tool_environment

ACCOUNTS_OBJECT = "accounts.sql.zst"
ACCOUNTS_ROLE = "accounts"


@dataclass(frozen=True)
class ScriptPart:
    """Which lines of the accounts script one replay loads (a sed program that keeps the line numbers of those it
    loads, so a client error's line is the object's), the marker that ends them, and what they are called."""

    what: str
    sed_program: str
    trailer: str
    log_name: str


WHOLE_SCRIPT = ScriptPart("the accounts", "", SCRIPT_TRAILER, "accounts.log")
ACCOUNTS_SECTION = ScriptPart("the accounts", f"1,/^{ACCOUNTS_CREATED}$/!d", ACCOUNTS_CREATED, "accounts.log")
OBJECT_GRANTS_SECTION = ScriptPart("the accounts' grants on tables, columns and routines",
                                   f"1,/^{ACCOUNTS_CREATED}$/s/.*//", SCRIPT_TRAILER, "object-grants.log")


def back_up_accounts(job: BackupJob) -> ObjectEntry:
    """Read the drilled accounts from the source and store their script as the backup's accounts object."""
    script = read_accounts_script(job.source, job.databases)
    upload = stream_bytes_to_s3(script.sql, job.store, job.layout.object_key(job.backup_id, ACCOUNTS_OBJECT),
                                compression_level=job.compression_level, threads=job.parallel)
    return ObjectEntry.of_upload(upload, ACCOUNTS_ROLE, len(script.sql))


def accounts_object(manifest: Manifest) -> ObjectEntry | None:
    """The manifest's accounts object; None for a backup taken with ``accounts: false`` (or before there was one)."""
    return next((entry for entry in manifest.objects if entry.role == ACCOUNTS_ROLE), None)


def script_part_command(archive: Path, part: ScriptPart) -> list[str]:
    """The command that writes ``part`` of the compressed script (a cut-off object still fails it: pipefail)."""
    return ["bash", "-o", "pipefail", "-c", 'zstd -dc -- "$1" | sed -e "$2"', "accounts", str(archive),
            part.sed_program]


def restore_accounts(archive: Path, endpoint: MySQLEndpoint, log: Path,
                     part: ScriptPart = WHOLE_SCRIPT) -> dict[str, Any]:
    """Replay the accounts script, or one part of it, into the restored server; RestoreFailed (hash-free) says
    what went wrong."""
    try:
        return load_sql_stream(script_part_command(archive, part), endpoint, log, f"{part.what} ({archive.name})",
                               part.trailer.encode())
    except RestoreFailed as exc:
        secrets = script_secrets(_script_text(archive))
        if log.exists():
            log.write_text(redact_account_secrets(log.read_text(errors="replace"), secrets))
        evidence = {key: redact_account_secrets(value, secrets) if isinstance(value, str) else value
                    for key, value in exc.evidence.items()}
        raise RestoreFailed(exc.code, redact_account_secrets(exc.problem, secrets),
                            "Read the statement the message names in the accounts object: an account or grant the "
                            "scratch server refuses (a missing authentication plugin, a grant on an object the "
                            "backup lacks). Fix the source's account, or set accounts: false for this target.",
                            evidence) from None  # the original carries the unredacted message


def _script_text(archive: Path) -> str:
    """The decompressed script (what is readable of it), to know which secrets to redact."""
    done = subprocess.run(["zstd", "-dc", str(archive)], capture_output=True, env=tool_environment(), check=False)
    return done.stdout.decode(errors="replace")
