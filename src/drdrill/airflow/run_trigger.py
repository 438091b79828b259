"""Who or what started an Airflow drill run, for its evidence bundle: schedule, asset event, user, with the run's conf."""

from __future__ import annotations

from typing import Any


def run_trigger(context: Any) -> dict[str, Any]:
    """The run's type (``scheduled``, ``manual``, ``asset_triggered``, ...), the user who triggered it, its conf and the
    asset events it consumed (a backup's asset naming the backup the restore drill was started for)."""
    dag_run = context.get("dag_run")
    run_type = getattr(dag_run, "run_type", None)
    events = [{"asset": getattr(getattr(event, "asset", None), "uri", None), "extra": getattr(event, "extra", None),
               "source": f"{getattr(event, 'source_dag_id', None)}/{getattr(event, 'source_run_id', None)}",
               "at": str(getattr(event, "timestamp", ""))}
              for event in getattr(dag_run, "consumed_asset_events", None) or []]
    return {"type": str(getattr(run_type, "value", run_type) or "unknown"), "via": "airflow",
            "dag_id": getattr(dag_run, "dag_id", None), "user": getattr(dag_run, "triggering_user_name", None),
            "conf": dict(getattr(dag_run, "conf", None) or {}), "asset_events": events}
