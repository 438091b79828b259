"""The report's trigger form: 7 days unless the run (or ``--days``) says otherwise; a period of no days is refused."""

from __future__ import annotations

import pytest

from drdrill.drills.form import FormValueError, param_specs, read_form
from drdrill.drills.report.form import ReportOptions

pytestmark = pytest.mark.unit


def test_the_period_defaults_to_a_week_and_reads_the_form() -> None:
    assert param_specs(ReportOptions)["days"] | {"description": ""} == {
        "default": 7, "type": "integer", "minimum": 1, "title": "Period (days)", "description": ""}
    assert read_form(ReportOptions, {}).days == 7 and read_form(ReportOptions, {"days": "30"}).days == 30
    with pytest.raises(FormValueError, match="at least 1"):
        read_form(ReportOptions, {"days": 0})
