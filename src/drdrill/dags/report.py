"""
### DR report: `dr_report`

One DAG for the whole installation, so its id has no `__<target>` (the drills' DAGs are `dr_<drill>__<target>`).
It runs on `settings.report_schedule` (default `@weekly`) and on demand: the trigger form's **days** (default 7)
chooses the period, the days before the run.

1. **build**: from the drill history, per target: drills run, pass rate, RTO and RPO p50/p95 against the
   objectives, objective breaches, a stale backup (the newest valid one older than `restore_drill.max_backup_age`,
   or than 1.5 intervals of the backup schedule), archive lag (the RPO monitor's samples), open findings, MTTR
   and the longest time without a green drill of each kind; fleet totals.
2. **store**: `report.html` (one self-contained page, inline SVG charts) and `report.json` in the `defaults`
   storage (else the first target's), under `<prefix>/reports/<period>/`.
3. **notify**: the summary with the report's link, to Slack (`defaults.notify.slack_conn_id`, else the first
   target's) through the Slack provider's webhook notifier.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, dag, get_current_context, task

from drdrill.airflow.dag_defaults import START_DATE
from drdrill.config import DrillConfig, load_config
from drdrill.drills.form import param_specs
from drdrill.drills.report import tasks as report_tasks
from drdrill.drills.report.form import ReportOptions

DAG_ID = "dr_report"
TASK_TIMEOUT = timedelta(minutes=10)
RUN_TIMEOUT = timedelta(minutes=30)


def build_report_dag(config: DrillConfig) -> DAG:
    """The installation's report DAG."""

    @dag(dag_id=DAG_ID, schedule=config.settings.report_schedule, start_date=START_DATE, catchup=False,
         max_active_runs=1, dagrun_timeout=RUN_TIMEOUT, doc_md=__doc__, tags=["drdrill", "report"],
         description="drdrill DR report of every target (HTML + JSON in S3, summary to Slack)",
         default_args={"owner": config.settings.default_owner, "retries": 0, "execution_timeout": TASK_TIMEOUT},
         params={name: Param(**spec) for name, spec in param_specs(ReportOptions).items()})
    def report() -> None:
        @task
        def build() -> dict[str, Any]:
            return report_tasks.build(get_current_context())

        @task(retries=2, retry_delay=timedelta(seconds=10))
        def store(built: dict[str, Any]) -> dict[str, str]:
            return report_tasks.store(built)

        @task(retries=2, retry_delay=timedelta(seconds=10))
        def notify(built: dict[str, Any], links: dict[str, str]) -> str:
            return report_tasks.notify(built, links, get_current_context())

        built = build()
        notify(built, store(built))

    return report()


def dags() -> dict[str, DAG]:
    """The one report DAG, by its DAG id."""
    return {DAG_ID: build_report_dag(load_config())}
