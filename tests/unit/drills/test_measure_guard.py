"""``drdrill.drills.measure_guard``: a negative RTO or RPO is refused, zero and positive ones pass."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drdrill.drills.measure_guard import refuse_negative
from drdrill.findings import DrillFailed

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("rto", "rpo"), [(0, 0), (90, None), (1, 3600)])
def test_zero_and_positive_measures_pass(rto: int, rpo: int | None) -> None:
    refuse_negative(timedelta(seconds=rto), timedelta(seconds=rpo) if rpo is not None else None, {"validated at": T0})


@pytest.mark.parametrize(("rto", "rpo"), [(-1, 5), (5, -0.5), (-3, None)])
def test_a_negative_measure_is_could_not_verify_naming_the_moments(rto: float, rpo: float | None) -> None:
    with pytest.raises(DrillFailed) as failed:
        refuse_negative(timedelta(seconds=rto), timedelta(seconds=rpo) if rpo is not None else None,
                        {"validated at": T0, "newest heartbeat": None})
    (finding,) = failed.value.findings
    assert finding.code == "COULD_NOT_VERIFY" and "NTP" in finding.fix
    assert f"validated at {T0.isoformat()}, newest heartbeat -" in finding.message
    assert finding.evidence["rto_seconds"] == rto
