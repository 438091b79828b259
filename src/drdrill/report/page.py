"""The DR report as one self-contained HTML page: inline CSS and inline SVG charts, no script, nothing fetched."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from drdrill.durations import format_duration

CHART_WIDTH, CHART_HEIGHT, MARGIN = 560, 160, 36
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #1f2328; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 6px; } h3 { font-size: 14px; }
table { border-collapse: collapse; margin: 6px 0; } th, td { border-bottom: 1px solid #d0d7de; padding: 3px 8px;
text-align: left; vertical-align: top; } th { background: #f6f8fa; }
.tiles span { display: inline-block; border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 10px; margin: 0 6px 6px 0; }
.tiles b { display: block; font-size: 18px; } .bad { color: #cf222e; font-weight: 600; } .good { color: #1a7f37; }
.small { color: #57606a; font-size: 12px; } svg { border: 1px solid #d0d7de; margin: 4px 8px 4px 0; }
"""


def seconds_text(value: float | None) -> str:
    """``12m30s``, or ``-`` when not measured."""
    return "-" if value is None else format_duration(timedelta(seconds=round(value, 1)))


def percent_text(value: float | None) -> str:
    """``95%``, or ``-`` when nothing ran."""
    return "-" if value is None else f"{value * 100:.0f}%"


def _cell(text: str, bad: bool = False) -> str:
    return f'<td class="bad">{escape(text)}</td>' if bad else f"<td>{escape(text)}</td>"


def _over(value: float | None, objective: float | None) -> bool:
    return value is not None and objective is not None and value > objective


def time_chart(points: Sequence[dict[str, Any]], measure: str, objective: float | None, start: datetime,
               end: datetime) -> str:
    """An SVG scatter of ``measure`` (``rto``/``rpo``) over the period, the objective as a dashed line and the runs
    above it in red."""
    values = [(datetime.fromisoformat(point["started_at"]), point[f"{measure}_seconds"]) for point in points
              if point[f"{measure}_seconds"] is not None]
    title = f"{measure.upper()} per run (objective {seconds_text(objective)})"
    top = max([value for _, value in values] + [objective or 0]) * 1.1 or 1.0
    span = (end - start).total_seconds() or 1.0
    plot_width, plot_height = CHART_WIDTH - 2 * MARGIN, CHART_HEIGHT - 2 * MARGIN

    def x(moment: datetime) -> float:
        return MARGIN + plot_width * min(max((moment - start).total_seconds() / span, 0.0), 1.0)

    def y(value: float) -> float:
        return MARGIN + plot_height * (1 - value / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<text x="{MARGIN}" y="16" font-size="12">{escape(title)}</text>',
             f'<line x1="{MARGIN}" y1="{MARGIN + plot_height}" x2="{MARGIN + plot_width}" y2="{MARGIN + plot_height}" '
             'stroke="#57606a"/>',
             f'<text x="{MARGIN}" y="{CHART_HEIGHT - 8}" font-size="10">{start:%Y-%m-%d}</text>',
             f'<text x="{MARGIN + plot_width}" y="{CHART_HEIGHT - 8}" font-size="10" text-anchor="end">'
             f"{end:%Y-%m-%d}</text>"]
    if objective is not None:
        parts.append(f'<line class="objective" x1="{MARGIN}" y1="{y(objective):.1f}" x2="{MARGIN + plot_width}" '
                     f'y2="{y(objective):.1f}" stroke="#9a6700" stroke-dasharray="4 3"/>')
    for moment, value in values:
        colour = "#cf222e" if _over(value, objective) else "#1a7f37"
        parts.append(f'<circle cx="{x(moment):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}">'
                     f"<title>{moment:%Y-%m-%d %H:%M}: {seconds_text(value)}</title></circle>")
    if not values:
        parts.append(f'<text x="{CHART_WIDTH / 2}" y="{CHART_HEIGHT / 2}" font-size="12" text-anchor="middle">'
                     "not measured in this period</text>")
    return "".join(parts) + "</svg>"


def pass_rate_chart(targets: Sequence[dict[str, Any]]) -> str:
    """An SVG bar per target: its pass rate over the period."""
    row, label = 18, 140
    height = row * max(len(targets), 1) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" role="img" '
             'aria-label="pass rate per target">', '<text x="4" y="14" font-size="12">pass rate per target</text>']
    for index, item in enumerate(targets):
        top, rate = 20 + index * row, item["pass_rate"]
        width = (CHART_WIDTH - label - 50) * (rate or 0)
        colour = "#1a7f37" if rate == 1 else "#cf222e"
        parts += [f'<text x="4" y="{top + 12}" font-size="12">{escape(item["target"])}</text>',
                  f'<rect x="{label}" y="{top + 2}" width="{width:.1f}" height="{row - 6}" fill="{colour}"/>',
                  f'<text x="{label + width + 4:.1f}" y="{top + 12}" font-size="12">{percent_text(rate)}</text>']
    return "".join(parts) + "</svg>"


def _tiles(totals: dict[str, Any]) -> str:
    tiles = [("targets", str(totals["targets"]), False), ("drills run", str(totals["drills_run"]), False),
             ("pass rate", percent_text(totals["pass_rate"]), totals["pass_rate"] not in (None, 1)),
             ("objective breaches", str(totals["breaches"]), totals["breaches"] > 0),
             ("stale backups", str(totals["stale_backups"]), totals["stale_backups"] > 0),
             ("open findings", str(totals["open_findings"]), totals["open_findings"] > 0),
             ("MTTR", seconds_text(totals["mttr_seconds"]), False)]
    return '<div class="tiles">' + "".join(
        f'<span>{escape(name)}<b class="{"bad" if bad else ""}">{escape(value)}</b></span>'
        for name, value, bad in tiles) + "</div>"


def _fleet_table(targets: Sequence[dict[str, Any]]) -> str:
    head = ["target", "drills", "pass rate", "RTO p50 / p95 (objective)", "RPO p50 / p95 (objective)", "breaches",
            "newest valid backup", "archive lag p95 (max)", "open findings", "MTTR"]
    rows = []
    for item in targets:
        backup = item["backup"]
        newest = backup["newest_valid"]
        cells = [_cell(item["target"]), _cell(str(item["drills_run"])),
                 _cell(percent_text(item["pass_rate"]), item["pass_rate"] not in (None, 1))]
        for measure in ("rto", "rpo"):
            spread = item[measure]
            cells.append(_cell(f"{seconds_text(spread['p50'])} / {seconds_text(spread['p95'])} "
                               f"({seconds_text(spread['objective_seconds'])})",
                               _over(spread["p95"], spread["objective_seconds"])))
        cells.append(_cell(str(len(item["breaches"])), bool(item["breaches"])))
        age = "none" if newest is None else f"{seconds_text(newest['age_seconds'])} old"
        cells.append(_cell(age + (" (STALE)" if backup["stale"] else ""), backup["stale"]))
        lag = item["archive_lag"]
        cells.append(_cell(f"{seconds_text(lag['p95'])} ({seconds_text(lag['max'])})", lag["over_objective"] > 0))
        cells.append(_cell(str(len(item["open_findings"])), bool(item["open_findings"])))
        cells.append(_cell(seconds_text(item["mttr_seconds"])))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ("<table><tr>" + "".join(f"<th>{escape(name)}</th>" for name in head) + "</tr>" + "".join(rows)
            + "</table>")


def _target_section(item: dict[str, Any], start: datetime, end: datetime) -> str:
    kinds = "".join(
        "<tr>" + _cell(name) + _cell(str(stats["runs"])) + _cell(percent_text(stats["pass_rate"]),
                                                                 stats["pass_rate"] not in (None, 1))
        + _cell(seconds_text(stats["mttr_seconds"])) + _cell(seconds_text(stats["longest_without_green_seconds"]))
        + _cell("red since " + stats["red_since"][:16] if stats["red_since"] else "", bool(stats["red_since"]))
        + "</tr>" for name, stats in item["kinds"].items())
    breaches = "".join(f"<li>{escape(b['measure'])} {escape(seconds_text(b['seconds']))} over "
                       f"{escape(seconds_text(b['objective_seconds']))}: {escape(b['drill'])} run "
                       f"{escape(b['run_id'])} ({escape(b['started_at'][:16])})</li>" for b in item["breaches"])
    findings = "".join(f"<li><b>{escape(f.get('code', '?'))}</b> ({escape(f.get('drill', ''))}) "
                       f"{escape(f.get('message', ''))} <i>Fix:</i> {escape(f.get('fix', ''))}</li>"
                       for f in item["open_findings"])
    backup = item["backup"]
    newest = backup["newest_valid"]
    backup_text = ("no valid backup" if newest is None else
                   f"newest valid backup {newest['backup_id']} at {newest['at'][:16]}, "
                   f"{seconds_text(newest['age_seconds'])} old") + (
        f"; allowed {seconds_text(backup['allowed_age_seconds'])}" if backup["allowed_age_seconds"] else "")
    return (f'<h2 id="target-{escape(item["target"])}">{escape(item["target"])}</h2>'
            f'<p class="{"bad" if backup["stale"] else "small"}">{escape(backup_text)}'
            f'{" — STALE" if backup["stale"] else ""}</p>'
            + time_chart(item["series"], "rto", item["rto"]["objective_seconds"], start, end)
            + time_chart(item["series"], "rpo", item["rpo"]["objective_seconds"], start, end)
            + "<table><tr><th>drill</th><th>runs</th><th>pass rate</th><th>MTTR</th>"
            "<th>longest without green</th><th></th></tr>" + kinds + "</table>"
            + (f"<h3>Objective breaches</h3><ul>{breaches}</ul>" if breaches else "")
            + (f"<h3>Open findings</h3><ul>{findings}</ul>" if findings else ""))


def render_page(report: dict[str, Any]) -> str:
    """The report as one HTML document that needs nothing else to show (safe to mail or keep as evidence)."""
    period = report["period"]
    start, end = datetime.fromisoformat(period["start"]), datetime.fromisoformat(period["end"])
    title = f"{report['title']}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC ({period['days']} days)"
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1>"
            "<p class=\"small\">Pass rate, MTTR and breaches count the drills started in the period; backup age and "
            "open findings are as of its end. Only a passed drill is green.</p>"
            + _tiles(report["fleet"]) + pass_rate_chart(report["targets"]) + _fleet_table(report["targets"])
            + "".join(_target_section(item, start, end) for item in report["targets"]) + "</body></html>\n")
