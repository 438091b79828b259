"""The RTO budget alert under a real scheduler and triggerer (the two-worker stack): a restore drill whose RTO
objective (1 s) is far below what the drill takes posts its Deadline Alert to Slack while the run is still going
(the sink's receipt time against the run's end), and its record says the budget was breached and when. The quiet
direction, a drill within its budget, is asserted by the restore test in ``test_drills_across_workers``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from drdrill.drill_kinds import schedule_keys
from drdrill.history import list_drills
from drdrill.sandbox.cluster.stack import WORKERS, ClusterStack
from drdrill.sandbox.slack_sink import read_posts
from tests.helpers.cluster import ClusterAPI
from tests.helpers.drill_helpers import run_steps, shop_target

pytestmark = pytest.mark.cluster
TIGHT = "shop_rto"
DAG_ID = f"dr_restore_drill__{TIGHT}"
OBJECTIVE = timedelta(seconds=1)


@contextmanager
def tight_rto_target(stack: ClusterStack) -> Iterator[None]:
    """The stack's configs (services and each worker) with ``shop_rto``: the shop target with a 1 s RTO objective,
    no schedules and no failover drill; removed again afterwards."""
    paths = [stack.config_path(component) for component in ("services", *WORKERS)]
    originals = {path: path.read_text() for path in paths}
    for path in paths:
        config = yaml.safe_load(originals[path])
        shop = next(target for target in config["targets"] if target["name"] == "shop")
        config["targets"].append({**shop, "name": TIGHT, "description": "shop with an RTO objective of 1 s",
                                  "objectives": {"rto": f"{OBJECTIVE.seconds}s", "rpo": "15m"},
                                  "schedules": dict.fromkeys(schedule_keys()), "allow_failover_drill": False})
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        yield
    finally:
        for path, text in originals.items():
            path.write_text(text)


def budget_alerts(posts: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    return [post for post in posts if isinstance(post["body"], dict)
            and "past its RTO budget" in post["body"].get("text", "") and quote(run_id, safe="") in post["body"]["text"]]


def test_a_drill_past_its_rto_budget_alerts_in_slack_while_it_still_runs(cluster: ClusterAPI, sandbox: Any,
                                                                        tmp_path: Path) -> None:
    with tight_rto_target(cluster.stack):
        run_steps(sandbox, shop_target(name=TIGHT), tmp_path)  # a valid backup of the tight target to restore
        before = len(read_posts(sandbox.sandbox.slack_record))
        cluster.wait_for_dag(DAG_ID, timeout=180)  # the DAG processor re-reads the DAG files every 30 s
        run_id = cluster.trigger(DAG_ID)
        state = cluster.wait_finished(DAG_ID, run_id, timeout=300)
        run = cluster.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")

    assert state == "failed"  # RTO_EXCEEDED: the drill took longer than 1 s
    [alert] = budget_alerts(read_posts(sandbox.sandbox.slack_record)[before:], run_id)
    received = datetime.fromisoformat(alert["received_at"])
    queued, ended = datetime.fromisoformat(run["queued_at"]), datetime.fromisoformat(run["end_date"])
    assert queued + OBJECTIVE <= received < ended, (queued, received, ended)  # posted while the run still went
    text = alert["body"]["text"]
    assert f"*restore* drill for target *{TIGHT}*" in text and "objective 1s + margin 0s" in text
    assert f"{cluster.stack.api_url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}" in text

    record = next(record for record in list_drills(cluster.stack.history_url, TIGHT, "restore", limit=5)
                  if record.run_id == run_id)
    assert record.verdict == "failed" and "RTO_EXCEEDED" in {finding["code"] for finding in record.findings}
    budget = record.details["rto_budget"]
    assert (budget["armed"], budget["breached"], budget["budget"]) == (True, True, "1s"), budget
    breached_at = datetime.fromisoformat(budget["breached_at"])
    assert abs(breached_at - (queued + OBJECTIVE)) < timedelta(seconds=5) and breached_at <= received, budget
