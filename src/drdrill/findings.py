"""Findings: the stable codes a drill can turn red with, each with its cause and its fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from drdrill.errors import DrdrillError, TLSFailed

PASSED = "passed"
FAILED = "failed"
COULD_NOT_VERIFY = "could_not_verify"

# code -> (verdict it forces, default fix)
CATALOG: dict[str, tuple[str, str]] = {
    "TARGET_UNAVAILABLE": (COULD_NOT_VERIFY, "Check that the server is up and the Airflow connection's host, port and credentials are right."),
    "CONFIG_INVALID": (COULD_NOT_VERIFY, "Correct the drills YAML or the Airflow connection named in the message."),
    "STORAGE_UNAVAILABLE": (COULD_NOT_VERIFY, "Check the S3 connection (endpoint_url, credentials) and that the bucket exists."),
    "PREFLIGHT_FAILED": (FAILED, "Fix the source server setting named in the message; backups without it cannot be recovered to a point in time."),
    "INSUFFICIENT_SPACE": (COULD_NOT_VERIFY, "Free disk space in the work directory or lower min_free_space for this target."),
    "BACKUP_FAILED": (FAILED, "Read the tool's message; fix the privilege, setting or disk problem it names and re-run the backup."),
    "ARCHIVE_TRUNCATED": (FAILED, "The tool's output ended early; re-run the backup and check the tool's log and free space."),
    "ARTEFACT_MISSING": (FAILED, "An object the manifest lists is not in S3; check lifecycle rules and who deletes there, then take a new backup."),
    "ARTEFACT_CORRUPT": (FAILED, "An object in S3 does not match its recorded size or sha256; take a new backup and check the bucket's integrity."),
    "MANIFEST_INVALID": (FAILED, "The manifest is unreadable or incomplete, so the backup cannot be trusted; take a new backup."),
    "MANIFEST_CORRUPT": (FAILED, "The manifest was changed after it was written (its digest or signature does not match), so the backup cannot be trusted; find out who changed it and take a new backup."),
    "COULD_NOT_VERIFY": (COULD_NOT_VERIFY, "A check could not run; fix the cause in the message and re-run the drill."),
    "NO_VALID_BACKUP": (FAILED, "There is no valid backup to restore; run the backup drill (dr_backup__<target>) and fix what it reports."),
    "BACKUP_STALE": (FAILED, "The newest valid backup is older than the target allows; check the backup schedule and recent backup runs."),
    "SAFETY_INTERLOCK": (COULD_NOT_VERIFY, "Point the scratch connection at a dedicated server: never the target's source or replica."),
    "RESTORE_ERROR": (FAILED, "The restore client reported an error; the message names the statement and line. Fix the backup (or the scratch server's settings) and re-run."),
    "SCRATCH_FAILED": (COULD_NOT_VERIFY, "The scratch server the drill restores into failed (not the backup): read its error log lines in the message (disk, memory, settings, a killed process), fix that and re-run the drill; the backup's standing is unchanged."),
    "TABLE_MISSING": (FAILED, "A table the source had is not in the restored database; check the engine's table filters and the dump's completeness."),
    "ROWCOUNT_MISMATCH": (FAILED, "The restored table has a different number of rows than the source had at the backup's point; the backup lost or gained rows."),
    "CHECKSUM_MISMATCH": (FAILED, "The restored table's content differs from the source at the backup's point; the backup is not a faithful copy."),
    "OBJECT_MISSING": (FAILED, "A view, routine, trigger or event did not come back; add --routines/--triggers/--events (or the engine's equivalent) and check the definer exists."),
    "OBJECT_DEFINITION_DIFFERS": (FAILED, "A view, routine, trigger or event came back with a different definition than the source's; the backup does not carry it faithfully. Take a new backup and check the dump's completeness."),
    "TABLE_STRUCTURE_DIFFERS": (FAILED, "A restored table's columns, types, constraints, engine or partitioning differ from the source's; take a new backup and check the engine's log for DDL warnings."),
    "INDEX_MISSING": (FAILED, "An index the source had is not in the restored table; queries relying on it fail or crawl after recovery. Take a new backup and check the engine's log."),
    "INDEX_DIFFERS": (FAILED, "A restored index is not built like the source's (kind, columns, prefix, order or ignored flag); take a new backup and check the engine's log."),
    "ACCOUNT_MISSING": (FAILED, "An account (or role) that holds grants on the target's databases did not come back, so the application could not log in after a real recovery; check that backups carry the accounts object (accounts: true) and that its replay succeeded."),
    "GRANTS_DIFFER": (FAILED, "A restored account's attributes or grants on the target's databases differ from the source's (the message shows the difference); compare the accounts object with the source's SHOW GRANTS and take a new backup once the source is right."),
    "PRIMARY_KEY_VIOLATION": (FAILED, "Primary-key values are duplicated or NULL in the restore; the backup mixed data from different points in time."),
    "RPO_EXCEEDED": (FAILED, "More data would be lost than the RPO objective allows; back up (or archive binlogs) more often."),
    "BINLOG_GAP": (FAILED, "A binlog file is missing from the archive chain, so point-in-time recovery cannot cross it; archive more often than the source purges (binlog_expire_logs_seconds) and take a new full backup after the gap."),
    "BINLOG_CORRUPT": (FAILED, "An archived binlog does not match its recorded size/sha256 or cannot be decoded; re-archive it from the source if it is still there, otherwise take a new full backup."),
    "SECRET_IN_BINLOG": (PASSED, "A warning (the archive or the backup is complete): an account statement (CREATE USER, ALTER USER or GRANT ... IDENTIFIED BY '...', or IDENTIFIED VIA ... USING PASSWORD('...')) wrote a password into the binlog in clear text, and the binlog archive, or the catch-up segment of a backup taken while it happened, keeps it until retention removes the file. Rotate that account's password, restrict who can read the archive's and the backups' prefix, and manage accounts so the binlog holds only hashes: IDENTIFIED BY PASSWORD '<hash>', IDENTIFIED VIA <plugin> USING '<hash>', SET PASSWORD FOR ... = PASSWORD('...') (MariaDB logs the hash), or SET SESSION sql_log_bin = 0 first (then on each server)."),
    "HEARTBEAT_STOPPED": (FAILED, "The source has not committed a heartbeat for longer than the RPO objective: writes since then are not in the database at all (a full disk stalls every commit, a read-only or hung server refuses them) or the heartbeat writer stopped; check the source's disk and error log, then the writer."),
    "ARCHIVE_LAGGING": (FAILED, "The binlog archive is further behind the source than the RPO objective; run archiving more often or use the continuous streamer."),
    "PITR_TARGET_UNREACHED": (FAILED, "The binlog archive ends before the requested recovery time; check archiving and pick an earlier target."),
    "PITR_TARGET_BEFORE_BACKUP": (COULD_NOT_VERIFY, "Nothing before the recoverable window can be recovered by design (retention deleted the backups it would need): pick a target inside the window the message gives, or keep backups longer (retention) if the business needs to reach further back."),
    "PITR_BASE_ROLLED_BACK": (FAILED, "The backup point-in-time recovery would start from holds transactions a flashback fail-back later rolled back (see the fork record in the binlog archive); recover from a backup taken before them or after the fork, or quarantine this backup."),
    "PITR_BOUNDARY_WRONG": (FAILED, "The recovered data does not stop exactly at the target: rows after it are present or rows before it are missing; check the replay's stop condition."),
    "REPLICATION_BROKEN": (FAILED, "Replication is not running on the replica, so promoting it would lose data; read Last_IO_Error/Last_SQL_Error in SHOW SLAVE STATUS, repair replication, then re-run the drill."),
    "REPLICA_LAGGING": (FAILED, "The replica is further behind than failover_drill.max_replica_lag allows; a failover now would lose that much data. Find what slows it (long transactions, I/O, missing indexes) or raise the threshold deliberately."),
    "PROMOTION_FAILED": (FAILED, "The replica could not be made the new primary; the message names the statement that failed. Fix the replica (privileges, SQL thread error, read-only settings) before relying on it for failover."),
    "WRITES_LOST": (FAILED, "Writes acknowledged by the old primary never reached the replica, and the window lost is longer than the RPO objective; reduce replication lag or use semi-synchronous replication."),
    "ERRANT_TRANSACTIONS": (PASSED, "The old primary held transactions the new primary never received; they were saved and handled by failover_drill.errant_transactions. Review the saved copy and re-apply what the business needs."),
    "FAILBACK_FAILED": (FAILED, "The old primary could not rejoin as a replica of the new primary; the message names the step. Rebuild it from a backup of the new primary if it cannot be repaired."),
    "NOT_APPROVED": (COULD_NOT_VERIFY, "Nothing was touched. Trigger the drill again when the failover may happen, and approve it (Required Actions in the Airflow UI) within the approval timeout."),
    "TOPOLOGY_NOT_RESTORED": (FAILED, "After the drill the servers are not back to primary -> replica with replication running and equal data; repair it by hand (the message says what differs) before the next drill."),
    "RTO_EXCEEDED": (FAILED, "Recovery took longer than the RTO objective; use a faster engine (mariabackup), more parallelism, or a bigger scratch server."),
    "NEWER_BACKUPS_UNUSABLE": (FAILED, "A real recovery today would start from an older backup and lose the data since; fix what made the newer backups unusable (the message says why for each: a backup run that died, a failed verification or restore drill) and take a new backup."),
    "TASK_TIMEOUT": (COULD_NOT_VERIFY, "A task ran past its bound and was stopped, so what it checks was not checked: find what hung (the task log names the step; a stalled tool, server or S3 endpoint), or raise the timeouts key the message names if the work really takes that long."),
    "DRILL_CONFLICT": (COULD_NOT_VERIFY, "Nothing was touched: another drill of the same target that cannot run alongside this one holds it (a failover kills the primary a backup streams from). Let the holder finish and trigger this drill again, or raise timeouts.lock_wait to wait longer."),
    "SCRATCH_SLOTS_FULL": (COULD_NOT_VERIFY, "This worker already runs as many scratch servers as it has memory for; nothing was restored. Run the drill again later, spread drills over more workers, or raise settings.scratch_slots if the worker has the memory."),
    "EVIDENCE_NOT_STORED": (COULD_NOT_VERIFY, "The drill ran but its evidence bundle is not in S3, so nobody can check it later: fix the S3 problem the message names (credentials, bucket, permissions for <prefix>/<target>/) and run the drill again."),
    "TLS_VERIFY_FAILED": (FAILED, "The login is configured for TLS (the connection's ssl extra) but no verified, encrypted session came about: the server's certificate does not verify against ssl.ca (a wrong CA, or a certificate that does not name the host), or the server offers no TLS. Point ssl.ca at the CA that signed the server's certificate; drdrill never falls back to plain text."),
    "OBJECT_LOCK_DISABLED": (FAILED, "The target's storage.object_lock asks for locked backups, but the bucket does not have S3 Object Lock enabled, so nothing was written. Use a bucket created with Object Lock (aws s3api create-bucket --object-lock-enabled-for-bucket), or enable it on this one (versioning on, then aws s3api put-object-lock-configuration --object-lock-configuration ObjectLockEnabled=Enabled), or set storage.object_lock: null."),
    "COPY_MISSING": (FAILED, "The backup is valid in its own bucket, but its second copy (storage.copy) is not all there: the copy bucket refused it (the message says why: the bucket missing, its Object Lock, the credentials' s3:PutObject there) or something deleted it. Fix the copy bucket and re-run the backup drill; a re-run copies what is missing."),
    "COPY_MISMATCH": (FAILED, "An object of the backup's second copy (storage.copy) differs from what the manifest recorded (size, SHA-256 checksum or parts): the copy bucket holds something else under its key. Find out who wrote there (it is never overwritten by drdrill), delete that object and re-run the backup drill."),
    "DECRYPT_FAILED": (FAILED, "A client-side encrypted object does not authenticate: its bytes were changed, reordered or cut after the backup wrote them (the message names the chunk). Do not restore from it; take a new backup and find what altered the store."),
    "ENCRYPTION_KEY_WRONG": (FAILED, "A client-side encrypted object does not open with the key from storage.encryption.client_side_conn_id: it was encrypted with another key (a rotated or replaced key), or its header was altered. Put the key the backup was made with back into that connection; keep old keys until the backups made with them expire."),
    "ENCRYPTION_KEY_MISSING": (FAILED, "The backup is client-side encrypted (the manifest names the key's connection) and the target names no key (storage.encryption.client_side_conn_id is null). Set it to the connection that holds that key."),
    "FAILED_BACKUP_REDRILLED": (PASSED, "This backup failed its last restore drill and was chosen by id to drill it again: a pass makes it proven again, another failure says what is still wrong with it."),
}

# Findings that say the drill was asked for something it cannot do (bad input, not a broken recovery): the CLI
# exits 2 (bad usage) instead of 1 (drill red) for a run that reports one.
BAD_REQUEST = frozenset({"CONFIG_INVALID", "PITR_TARGET_BEFORE_BACKUP"})

# Which findings say the backup itself is broken. A restore drill that reports one of these marks the backup
# it restored "failed drill" (storage.proof); every other finding is about the drill, the environment, the
# schedule or other backups (RTO, RPO, staleness, scratch trouble), and leaves the backup's standing alone.
# Every code in CATALOG is in exactly one of the two sets (tests/unit/test_findings.py): add a new code to one.
# MANIFEST_INVALID and MANIFEST_CORRUPT indict the backup, but a drill that reports them writes no proof: the
# manifest itself is refused on every read (drills.restore.proof), whoever is at fault (a wrong signing key too).
BACKUP_INDICTING = frozenset({
    "BACKUP_FAILED", "ARCHIVE_TRUNCATED", "ARTEFACT_MISSING", "ARTEFACT_CORRUPT", "MANIFEST_INVALID", "MANIFEST_CORRUPT",
    "RESTORE_ERROR", "TABLE_MISSING", "ROWCOUNT_MISMATCH", "CHECKSUM_MISMATCH", "OBJECT_MISSING",
    "PRIMARY_KEY_VIOLATION", "OBJECT_DEFINITION_DIFFERS", "TABLE_STRUCTURE_DIFFERS", "INDEX_MISSING", "INDEX_DIFFERS",
    "ACCOUNT_MISSING", "GRANTS_DIFFER", "DECRYPT_FAILED",
})
NOT_ABOUT_THE_BACKUP = frozenset({
    "TARGET_UNAVAILABLE", "CONFIG_INVALID", "STORAGE_UNAVAILABLE", "PREFLIGHT_FAILED", "INSUFFICIENT_SPACE",
    "COULD_NOT_VERIFY", "NO_VALID_BACKUP", "BACKUP_STALE", "SAFETY_INTERLOCK", "SCRATCH_FAILED", "RPO_EXCEEDED", "RTO_EXCEEDED",
    "NEWER_BACKUPS_UNUSABLE", "FAILED_BACKUP_REDRILLED", "BINLOG_GAP", "BINLOG_CORRUPT", "SECRET_IN_BINLOG",
    "ARCHIVE_LAGGING", "HEARTBEAT_STOPPED", "TASK_TIMEOUT", "DRILL_CONFLICT", "SCRATCH_SLOTS_FULL",
    "PITR_TARGET_UNREACHED", "PITR_TARGET_BEFORE_BACKUP", "PITR_BASE_ROLLED_BACK", "PITR_BOUNDARY_WRONG",
    "REPLICATION_BROKEN", "REPLICA_LAGGING", "PROMOTION_FAILED", "WRITES_LOST", "ERRANT_TRANSACTIONS",
    "FAILBACK_FAILED", "NOT_APPROVED", "TOPOLOGY_NOT_RESTORED", "EVIDENCE_NOT_STORED", "TLS_VERIFY_FAILED",
    "OBJECT_LOCK_DISABLED", "COPY_MISSING", "COPY_MISMATCH",
    "ENCRYPTION_KEY_WRONG", "ENCRYPTION_KEY_MISSING",
})


@dataclass(frozen=True)
class Finding:
    """One thing a drill found: code, what happened, how to fix it, and evidence."""

    code: str
    message: str
    fix: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CATALOG:
            raise ValueError(f"unknown finding code {self.code!r}")
        if not self.fix:
            object.__setattr__(self, "fix", CATALOG[self.code][1])

    @property
    def verdict(self) -> str:
        """The verdict this finding forces on its own."""
        return CATALOG[self.code][0]

    def sentence(self) -> str:
        """``CODE: message Fix: fix`` in one line."""
        return f"{self.code}: {self.message} Fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of to_dict."""
        return cls(**data)


def tls_finding(where: str, exc: TLSFailed) -> Finding:
    """TLS_VERIFY_FAILED: ``where`` failed, a login that could not make its verified TLS session."""
    return Finding("TLS_VERIFY_FAILED", f"{where} failed: {exc.problem}", exc.fix or "")


def error_finding(where: str, exc: BaseException) -> Finding:
    """COULD_NOT_VERIFY for a step that raised instead of reporting (``where``: "Task x", "Step y"): never a pass.

    A login that could not make its TLS session is TLS_VERIFY_FAILED wherever it happened."""
    if isinstance(exc, TLSFailed):
        return tls_finding(where, exc)
    if isinstance(exc, DrdrillError):
        return Finding("COULD_NOT_VERIFY", f"{where} failed: {exc.problem}", exc.fix or "")
    return Finding("COULD_NOT_VERIFY", f"{where} failed: {type(exc).__name__}: {exc}")


def verdict_of(findings: Iterable[Finding]) -> str:
    """``failed`` beats ``could_not_verify`` beats ``passed``."""
    verdicts = {finding.verdict for finding in findings}
    if FAILED in verdicts:
        return FAILED
    if COULD_NOT_VERIFY in verdicts:
        return COULD_NOT_VERIFY
    return PASSED


class DrillFailed(DrdrillError):
    """Raised by a drill step that found problems; carries the findings for Slack and the record."""

    def __init__(self, findings: list[Finding], failed_steps: list[str] | None = None,
                 measurements: dict[str, str] | None = None, outcome: dict[str, Any] | None = None) -> None:
        self.findings = findings
        self.failed_steps = failed_steps or []
        self.measurements = measurements or {}
        self.outcome = outcome  # what the step measured before it found the problem (kept as evidence)
        summary = " | ".join(finding.sentence() for finding in findings)
        super().__init__(f"{verdict_of(findings)}: {summary}")

    @property
    def verdict(self) -> str:
        """``failed`` or ``could_not_verify``."""
        return verdict_of(self.findings)
