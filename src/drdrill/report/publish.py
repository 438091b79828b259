"""Where the DR report goes: its two objects in the defaults' storage (``<prefix>/reports/<period>/``) and the
summary Slack is told (also what ``drdrill report`` prints)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from drdrill.config import DrillConfig, Storage
from drdrill.report.page import percent_text, seconds_text
from drdrill.storage.objectstore import ObjectStore

REPORTS_FOLDER = "reports"
MAX_TARGET_LINES = 10


@dataclass(frozen=True)
class Destination:
    """The bucket the report is stored in and the Slack connection its summary goes to (None: no Slack)."""

    storage: Storage
    slack_conn_id: str | None


def report_destination(config: DrillConfig) -> Destination:
    """The ``defaults`` section's storage and Slack connection; each, when ``defaults`` does not name it, the first
    target's."""
    first = config.targets[0]
    storage = getattr(config.defaults, "storage", None)  # TargetDefaults' keys are made from Target's at import
    chosen = first.storage
    if storage is not None and storage.conn_id and storage.bucket:
        chosen = Storage(**{key: value for key, value in asdict(storage).items() if value is not None})
    slack = getattr(getattr(config.defaults, "notify", None), "slack_conn_id", None) or first.notify.slack_conn_id
    return Destination(chosen, slack)


def report_keys(prefix: str, label: str) -> dict[str, str]:
    """The objects' keys: ``<prefix>/reports/<period label>/report.{html,json}``."""
    folder = "/".join(part for part in (prefix.strip("/"), REPORTS_FOLDER, label) if part)
    return {"html": f"{folder}/report.html", "json": f"{folder}/report.json"}


def store_report(store: ObjectStore, storage: Storage, report: dict[str, Any], page: str) -> dict[str, str]:
    """Write the page and the JSON (a re-run of the same period replaces them); their ``s3://`` URIs."""
    keys = report_keys(storage.prefix, report["period"]["label"])
    store.put_bytes(keys["json"], json.dumps(report, indent=2, sort_keys=True, default=str).encode())
    store.put_bytes(keys["html"], page.encode())
    return {name: f"s3://{storage.bucket}/{key}" for name, key in keys.items()}


def _target_line(item: dict[str, Any]) -> str | None:
    """What is wrong with one target, or None when nothing is."""
    problems = []
    if item["pass_rate"] is not None and item["pass_rate"] < 1:
        problems.append(f"pass rate {percent_text(item['pass_rate'])}")
    if item["breaches"]:
        problems.append(f"{len(item['breaches'])} objective breach(es): " + ", ".join(
            f"{b['measure']} {seconds_text(b['seconds'])} > {seconds_text(b['objective_seconds'])}"
            for b in item["breaches"][:3]))
    backup = item["backup"]
    if backup["stale"]:
        newest = backup["newest_valid"]
        problems.append("no valid backup" if newest is None else
                        f"backup stale ({seconds_text(newest['age_seconds'])} old, allowed "
                        f"{seconds_text(backup['allowed_age_seconds'])})")
    if item["archive_lag"]["over_objective"]:
        problems.append(f"archive lag over the RPO in {item['archive_lag']['over_objective']} sample(s)")
    if item["open_findings"]:
        problems.append(f"open findings: {', '.join(sorted({f.get('code', '?') for f in item['open_findings']}))}")
    return f"• *{item['target']}*: " + "; ".join(problems) if problems else None


def summary_text(report: dict[str, Any], links: dict[str, str] | None = None, run_link: str = "") -> str:
    """The Slack summary: the fleet's totals, one line per target with a problem, and where the report is."""
    fleet, period = report["fleet"], report["period"]
    healthy = not (fleet["breaches"] or fleet["stale_backups"] or fleet["open_findings"]
                   or fleet["archive_lag_over_objective"] or fleet["pass_rate"] not in (None, 1))
    lines = [f"{':large_green_circle:' if healthy else ':red_circle:'} drdrill DR report, {period['days']} days to "
             f"{period['end'][:16]}Z: {fleet['targets']} target(s), {fleet['drills_run']} drills, pass rate "
             f"{percent_text(fleet['pass_rate'])}, {fleet['breaches']} objective breach(es), {fleet['stale_backups']} "
             f"stale backup(s), {fleet['open_findings']} open finding(s), MTTR {seconds_text(fleet['mttr_seconds'])}."]
    problems = [line for line in map(_target_line, report["targets"]) if line]
    lines += problems[:MAX_TARGET_LINES]
    if len(problems) > MAX_TARGET_LINES:
        lines.append(f"… and {len(problems) - MAX_TARGET_LINES} more targets with problems")
    if links:
        lines.append(f"Report: {links['html']} (JSON: {links['json']})")
    if run_link:
        lines.append(f"Run: {run_link}")
    return "\n".join(lines)
