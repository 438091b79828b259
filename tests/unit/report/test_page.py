"""The report's HTML page: one self-contained document with inline SVG charts; a breach and a stale backup stand
out, a healthy fleet shows neither."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drdrill.report.page import render_page, seconds_text, time_chart
from tests.helpers.report_history import END, broken_history, healthy_history, report_of

pytestmark = pytest.mark.unit


def _page(tmp_path: Path, write) -> str:  # type: ignore[no-untyped-def]
    report = report_of(tmp_path, write)
    report["targets"][0]["open_findings"].append({"code": "X", "drill": "pitr", "message": "<script>x</script>",
                                                  "fix": "a & b"})
    return render_page(report)


def test_the_page_needs_nothing_else_and_draws_its_charts(tmp_path: Path) -> None:
    page = _page(tmp_path, healthy_history)
    assert page.startswith("<!doctype html>") and page.count("<svg") == 3  # pass rates, then RTO and RPO of shop
    assert not re.search(r"<script|<link|<img|src=|href=|url\(", page, re.IGNORECASE)
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "a &amp; b" in page
    assert page.count('class="objective"') == 2 and page.count("<circle") == 6  # 3 RTO and 3 RPO points
    assert "STALE" not in page and 'fill="#cf222e"' not in page


def test_a_breach_and_a_stale_backup_stand_out(tmp_path: Path) -> None:
    page = _page(tmp_path, broken_history)
    assert "STALE" in page and "RTO 35m over 30m: restore run" in page
    assert page.count('<circle cx="') and 'fill="#cf222e"' in page  # the red point above the objective line


def test_a_chart_without_measurements_says_so() -> None:
    chart = time_chart([], "rpo", None, END, END)
    assert "not measured in this period" in chart and 'class="objective"' not in chart
    assert seconds_text(None) == "-" and seconds_text(2100.0) == "35m"
