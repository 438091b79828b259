"""The failover drill's step list, written once: the runner, the DAG's tasks, the bench and the tests use it.

preflight → (approve) → start_canary → inject_fault → detect → promote → redirect → verify_writes → measure →
fail_back (in the DAG one task, ``fail_over``: the canary stays on one worker); ``cleanup`` runs whatever
happened, then verify_consistency and the record.
Each step is a method of ``FailoverPath`` by the same name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

PREFLIGHT = "preflight"
FAIL_OVER = ("start_canary", "inject_fault", "detect", "promote", "redirect", "verify_writes", "measure", "fail_back")
CLEANUP = "cleanup"
VERIFY = "verify_consistency"
STEPS = (PREFLIGHT, *FAIL_OVER, VERIFY)
RECORDED_STEPS = [PREFLIGHT, *FAIL_OVER, CLEANUP, VERIFY]


def timed(step: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """The step, returning its wall time as ``seconds`` too (the record's stage breakdown)."""
    def run() -> dict[str, Any]:
        began = time.monotonic()
        result = step()
        return {**result, "seconds": round(time.monotonic() - began, 3)}

    return run
