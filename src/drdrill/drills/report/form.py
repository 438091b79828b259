"""The DR report's trigger form: the ``dr_report`` DAG's Param and ``drdrill report``'s flag, declared once."""

from __future__ import annotations

from dataclasses import dataclass

from drdrill.drills.form import Kind, form_field


@dataclass(frozen=True)
class ReportOptions:
    """Which period the report covers: the days before the run."""

    days: int = form_field(
        Kind.INTEGER, 7, minimum=1, title="Period (days)",
        description="The report covers the drills started in the days before the run (7: the week before).",
        flag="--days", flag_help="the days before now the report covers (default 7)")
