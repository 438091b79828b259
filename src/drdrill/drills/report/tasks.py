"""Bodies of the ``dr_report`` DAG's tasks: build the report of the run's period, store it, post its summary."""

from __future__ import annotations

from typing import Any

from drdrill.airflow import runtime
from drdrill.airflow.connections import object_store
from drdrill.drills.form import read_form
from drdrill.drills.report.form import ReportOptions
from drdrill.report.numbers import build_report, report_targets
from drdrill.report.page import render_page
from drdrill.report.publish import report_destination, store_report, summary_text


def build(context: Any) -> dict[str, Any]:
    """The report of the form's days before the run's time."""
    config, end = runtime.config(), runtime.run_time(context)
    days = read_form(ReportOptions, context["params"]).days
    return build_report(config.settings.history_url, report_targets(config, end), end, days)


def store(report: dict[str, Any]) -> dict[str, str]:
    """The page and the JSON in the report's bucket; their ``s3://`` links."""
    storage = report_destination(runtime.config()).storage
    return store_report(object_store(storage), storage, report, render_page(report))


def notify(report: dict[str, Any], links: dict[str, str], context: Any) -> str:
    """Post the summary with the links through the Slack provider's webhook notifier (none without a Slack
    connection); the text posted."""
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    from drdrill.airflow.notify import run_url

    text = summary_text(report, links, run_url(context))
    slack_conn_id = report_destination(runtime.config()).slack_conn_id
    if slack_conn_id:
        SlackWebhookNotifier(slack_webhook_conn_id=slack_conn_id, text=text).notify(context)
    return text
