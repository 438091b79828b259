"""The guard every drill's measure step passes first: a negative RTO or RPO is never recorded."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from drdrill.findings import DrillFailed, Finding


def refuse_negative(rto: timedelta, rpo: timedelta | None, moments: Mapping[str, datetime | None]) -> None:
    """Raise COULD_NOT_VERIFY when RTO or RPO came out negative: a clock (or a declared time) is wrong.

    ``moments`` names the times they were computed from, for the message.
    """
    if rto >= timedelta(0) and (rpo is None or rpo >= timedelta(0)):
        return
    shown = ", ".join(f"{name} {moment.isoformat() if moment else '-'}" for name, moment in moments.items())
    raise DrillFailed([Finding(
        "COULD_NOT_VERIFY",
        f"RTO or RPO came out negative ({shown}): the clocks of the source, the worker and the declared time disagree.",
        "Check NTP on the database servers and the Airflow workers; declare the disaster after the restored point.",
        evidence={"rto_seconds": rto.total_seconds(), "rpo_seconds": rpo.total_seconds() if rpo is not None else None})])
