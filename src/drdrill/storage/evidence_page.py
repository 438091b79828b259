"""The evidence bundle as one self-contained HTML page (inline CSS, no scripts, fonts or images) for auditors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "could_not_verify": "#9a6700"}  # never green unless passed
STYLE = ("body{font-family:sans-serif;margin:2em;max-width:70em;color:#1f2328}table{border-collapse:collapse;margin:.5em 0}"
         "td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}"
         "pre{background:#f6f8fa;padding:1em;overflow:auto}.verdict{color:#fff;padding:.2em .6em;border-radius:.3em}"
         "code{font-size:.9em}")


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"<code>{escape(json.dumps(value, sort_keys=True, default=str))}</code>"
    return escape("-" if value is None else str(value))


def _table(rows: Mapping[str, Any]) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(str(key))}</th><td>{_cell(value)}</td></tr>"
                               for key, value in rows.items()) + "</table>"


def _findings(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return "<p>No findings.</p>"
    return "<ul>" + "".join(f"<li><b>{escape(f['code'])}</b>: {escape(f['message'])} <i>Fix:</i> {escape(f.get('fix', ''))}"
                            "</li>" for f in findings) + "</ul>"


def render_evidence_page(bundle: Mapping[str, Any]) -> str:
    """The page of a sealed bundle (``storage.evidence.sealed_bundle``): verdict, trigger, RTO/RPO against
    objectives, steps, findings, backup, validation, versions, every hash, and the parts as JSON."""
    parts = bundle["parts"]
    run, verdict = parts["run"], parts["verdict"]
    colour = COLOURS.get(verdict["verdict"], COLOURS["could_not_verify"])
    steps = {step["step"]: f"{step['seconds']:.2f} s" for step in parts["steps"]}
    sections = [
        ("Run", _table(run)), ("Triggered by", _table(parts["trigger"])),
        ("RTO and RPO against objectives", _table({key: value for key, value in verdict.items() if key != "verdict"})),
        ("Steps", _table(steps) if steps else "<p>No step ran.</p>"), ("Findings", _findings(parts["findings"])),
        ("Backup or recovery point", _table(parts["backup"]) if parts["backup"] else "<p>No backup.</p>"),
        ("Validation (Great Expectations)", _table(parts["validation"]) if parts["validation"] else "<p>None.</p>"),
        ("Versions", _table(parts["versions"])),
        ("sha256", _table({**bundle["hashes"], "bundle": bundle["sha256"]})
         + "<p>Each part's hash is over its canonical JSON (sorted keys, no spaces, UTF-8); the bundle's over "
           "<code>{\"format\", \"hashes\"}</code>. Check with <code>drdrill evidence verify RUN_ID</code>.</p>"),
        ("Parts as recorded", f"<pre>{escape(json.dumps(parts, indent=2, sort_keys=True, default=str))}</pre>"),
    ]
    title = f"{run['drill']} drill of {run['target']}, run {run['run_id']}"
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Evidence: {escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>Evidence: {escape(title)}</h1><p><span class=\"verdict\" style=\"background:{colour}\">"
            f"{escape(verdict['verdict'].replace('_', ' ').upper())}</span> bundle sha256 <code>{escape(bundle['sha256'])}"
            "</code></p>" + "".join(f"<h2>{escape(name)}</h2>{body}" for name, body in sections) + "</body></html>\n")
