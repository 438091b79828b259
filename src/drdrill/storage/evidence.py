"""A drill run's evidence bundle: one JSON document of named parts, a sha256 of each part and of the whole, and a
self-contained HTML page rendering it (``storage.evidence_page``), stored in S3 and checked by ``drdrill evidence
verify``.

Where it lives: a run whose backup is stored (its manifest exists) keeps its bundle next to it, under
``<backup>/drills/<run key>/`` beside the GX results, so retention keeps it as long as the backup and deletes it
with the backup's folder. A run with no stored backup (a failover drill, a backup drill that died before its
manifest) keeps it under ``<prefix>/<target>/evidence/<drill>/<run key>/``, which retention leaves alone on
purpose: evidence of a failed run must outlive it; expire that prefix with a bucket lifecycle rule if needed.

Hashes are over canonical JSON (sorted keys, no spaces, UTF-8): ``hashes[part] = sha256(canonical(part))`` and
``sha256 = sha256(canonical({"format", "hashes"}))``. The drill record keeps the bundle's and the page's sha256
too, so a bundle rewritten with fresh hashes does not verify either.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import drdrill
from drdrill.findings import Finding, verdict_of
from drdrill.history import DrillRecord
from drdrill.servers.scratch import run_key
from drdrill.storage.catalog import DRILL_EVIDENCE
from drdrill.storage.layout import TargetLayout, target_root
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.proof import ProofError, read_proof

FORMAT = 1
EVIDENCE_JSON = "evidence.json"
EVIDENCE_HTML = "evidence.html"
EVIDENCE_ROOT = "evidence/"  # under the target's root: runs with no stored backup to sit beside
DRILLS_WITH_EVIDENCE = ("backup", "restore", "pitr", "failover")  # binlog archive runs are a job, not a drill
VALIDATION_DETAILS = ("results_uri", "data_docs_uri", "expectations")


def canonical_json(value: Any) -> bytes:
    """``value`` as the bytes its hash is taken over: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sha256_of(value: Any) -> str:
    """The sha256 (hex) of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def sealed_bundle(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle document: the parts, each part's sha256, and the sha256 of the whole."""
    hashes = {name: sha256_of(part) for name, part in parts.items()}
    return {"format": FORMAT, "parts": dict(parts), "hashes": hashes, "sha256": sha256_of({"format": FORMAT, "hashes": hashes})}


def tampered_parts(bundle: Mapping[str, Any]) -> list[str]:
    """What no longer matches its hash: part names, ``hashes`` (the hash list itself was changed), ``sha256``."""
    parts, hashes = bundle.get("parts") or {}, bundle.get("hashes") or {}
    changed = [name for name in sorted(set(parts) | set(hashes))
               if name not in parts or name not in hashes or sha256_of(parts[name]) != hashes[name]]
    if sha256_of({"format": bundle.get("format"), "hashes": hashes}) != bundle.get("sha256"):
        changed.append("hashes" if not changed else "sha256")
    return changed


def local_trigger(**extra: Any) -> dict[str, Any]:
    """Who triggered a run from the command line (the in-process runners): the OS user on this host."""
    return {"type": "manual", "via": "drdrill command line", "user": getpass.getuser(), "host": socket.gethostname(),
            **extra}


def evidence_folder(store: ObjectStore, layout: TargetLayout, record: DrillRecord) -> str:
    """The folder of ``record``'s bundle: next to its backup when that is stored, else under the target's
    ``evidence/`` (see the module docstring)."""
    key = run_key(record.run_id)
    if record.backup_id and store.head(layout.manifest_key(record.backup_id)) is not None:
        return layout.object_key(record.backup_id, f"{DRILL_EVIDENCE}{key}/{record.drill}-")
    return f"{target_root(layout.prefix, layout.target)}{EVIDENCE_ROOT}{record.drill}/{key}/"


def backup_facts(store: ObjectStore, layout: TargetLayout, backup_id: str | None) -> dict[str, Any] | None:
    """The backup the run used or made: engine, tool and server versions (from its manifest, as stored) and its
    proof standing before this run's own proof is written; None for a run without one."""
    if not backup_id:
        return None
    raw = store.get_bytes(layout.manifest_key(backup_id))
    try:
        manifest = json.loads(raw) if raw else {}
    except ValueError:  # an unreadable manifest is the drill's finding (MANIFEST_INVALID), not a reason to lose evidence
        manifest = {}
    manifest = manifest if isinstance(manifest, dict) else {}
    try:
        proof = read_proof(store, layout, backup_id)
        standing: Any = proof.to_summary() if proof else "not yet proven by a restore drill"
    except ProofError as exc:
        standing = f"unreadable proof record: {exc.problem}"
    return {"backup_id": backup_id, "manifest_stored": raw is not None,
            "manifest_sha256": hashlib.sha256(raw).hexdigest() if raw else None,
            "engine": manifest.get("engine"), "tool_version": manifest.get("tool_version"),
            "server_version": manifest.get("server_version"), "proof_before_this_run": standing}


def evidence_parts(record: DrillRecord, *, trigger: Mapping[str, Any], backup: dict[str, Any] | None) -> dict[str, Any]:
    """The bundle's parts, from the finished record, what triggered the run and its backup's facts."""
    details = record.details

    def met(value: float | None, objective: float | None) -> bool | None:
        return None if value is None or objective is None else value <= objective

    return {
        "run": {"run_id": record.run_id, "target": record.target, "drill": record.drill, "started_at": record.started_at,
                "finished_at": record.finished_at, "airflow_run": details.get("airflow_run")},
        "trigger": {**trigger, "approval": details.get("approval") or trigger.get("approval")},
        "verdict": {"verdict": record.verdict, "rto_seconds": record.rto_seconds,
                    "rto_objective_seconds": record.rto_objective_seconds,
                    "rto_met": met(record.rto_seconds, record.rto_objective_seconds), "rpo_seconds": record.rpo_seconds,
                    "rpo_objective_seconds": record.rpo_objective_seconds,
                    "rpo_met": met(record.rpo_seconds, record.rpo_objective_seconds)},
        "steps": [{"step": step, "seconds": seconds} for step, seconds in record.stage_seconds.items()],
        "findings": record.findings,
        "backup": backup,
        "validation": {key: details.get(key) for key in VALIDATION_DETAILS if details.get(key) is not None},
        "versions": {"drdrill": drdrill.__version__, "engine": (backup or {}).get("engine") or details.get("engine"),
                     "tool": (backup or {}).get("tool_version"), "server": (backup or {}).get("server_version")},
        "details": details,
    }


def with_evidence(open_store: Callable[[], ObjectStore], layout: TargetLayout, record: DrillRecord,
                  findings: list[Finding], *, trigger: Mapping[str, Any]) -> tuple[DrillRecord, list[Finding]]:
    """Store the run's bundle and page; the record then names them (``evidence_key``, ``evidence_sha256``,
    ``evidence_html_key``, ``evidence_html_sha256``). Called by every record step before the record is written.

    A bundle that cannot be stored is EVIDENCE_NOT_STORED: the run is not green (an auditor would have nothing to
    check). Dry runs and binlog archive runs have no bundle.
    """
    from drdrill.storage.evidence_page import render_evidence_page

    if record.drill not in DRILLS_WITH_EVIDENCE or record.details.get("dry_run"):
        return record, findings
    try:
        store = open_store()
        folder = evidence_folder(store, layout, record)
        bundle = sealed_bundle(evidence_parts(record, trigger=trigger, backup=backup_facts(store, layout, record.backup_id)))
        page = render_evidence_page(bundle).encode()
        store.put_bytes(folder + EVIDENCE_JSON, json.dumps(bundle, indent=2, sort_keys=True, default=str).encode())
        store.put_bytes(folder + EVIDENCE_HTML, page)
    except Exception as exc:  # any cause: the run's verdict must say its evidence is missing
        missing = Finding("EVIDENCE_NOT_STORED", f"The drill's evidence bundle could not be stored: {type(exc).__name__}: "
                          f"{exc}", evidence={"error": type(exc).__name__})
        every = [*findings, missing]
        return replace(record, verdict=verdict_of(every), findings=[*record.findings, missing.to_dict()]), every
    return replace(record, details={
        **record.details, "evidence_key": folder + EVIDENCE_JSON, "evidence_sha256": bundle["sha256"],
        "evidence_html_key": folder + EVIDENCE_HTML, "evidence_html_sha256": hashlib.sha256(page).hexdigest(),
        "evidence_uri": f"s3://{store.bucket}/{folder}{EVIDENCE_HTML}"}), findings


@dataclass(frozen=True)
class EvidenceCheck:
    """What ``verify_evidence`` found: whether the bundle is there, and what does not match (empty: intact)."""

    found: bool
    tampered: list[str]


def verify_evidence(store: ObjectStore, details: Mapping[str, Any]) -> EvidenceCheck:
    """Re-read the bundle and page a record's ``details`` name and re-check every hash: each part's, the bundle's,
    the bundle's and page's against the record's."""
    raw, page = store.get_bytes(details["evidence_key"]), store.get_bytes(details["evidence_html_key"])
    if raw is None or page is None:
        return EvidenceCheck(False, [])
    try:
        bundle = json.loads(raw)
    except ValueError:
        return EvidenceCheck(True, [f"{EVIDENCE_JSON} (not JSON)"])
    tampered = tampered_parts(bundle)
    if not tampered and bundle.get("sha256") != details.get("evidence_sha256"):
        tampered.append("sha256 (differs from the drill record's)")
    if hashlib.sha256(page).hexdigest() != details.get("evidence_html_sha256"):
        tampered.append(EVIDENCE_HTML)
    return EvidenceCheck(True, tampered)
