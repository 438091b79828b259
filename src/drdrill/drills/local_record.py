"""The in-process runners' record (the CLI's path): the evidence bundle first, then the drill record, as the DAG's
record task does (``airflow.runtime.finish_drill``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drdrill.config import Target
from drdrill.drills.layouts import layout_for
from drdrill.findings import Finding
from drdrill.history import DrillRecord, record_drill
from drdrill.storage.evidence import local_trigger, with_evidence
from drdrill.storage.objectstore import ObjectStore


def record_with_evidence(history_url: str, open_store: Callable[[], ObjectStore], target: Target, record: DrillRecord,
                         findings: list[Finding], **trigger: Any) -> tuple[DrillRecord, list[Finding]]:
    """Store the run's evidence (``storage.evidence.with_evidence``; ``trigger``: what to add to the command-line
    trigger, e.g. the approval), then write the record naming it; returns both as written."""
    record, findings = with_evidence(open_store, layout_for(target), record, findings, trigger=local_trigger(**trigger))
    record_drill(history_url, record)
    return record, findings
