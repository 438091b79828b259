"""Slack alerts through the Slack provider's webhook notifier, built from the drill's verdict and findings."""

from __future__ import annotations

from typing import Any

from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

from drdrill.findings import DrillFailed

MAX_FINDINGS = 8


def run_url(context: Any) -> str:
    """The Airflow UI link of the run (from the task instance's own log URL)."""
    ti = context.get("ti")
    url = getattr(ti, "log_url", "") if ti is not None else ""
    return url.split("/tasks/")[0] if url else ""


def alert_text(context: Any, target: str, drill: str, secrets: tuple[str, ...] = ()) -> str:
    """The message a DBA reads: verdict, target, drill, failing task(s), findings with fixes, link."""
    exception = context.get("exception")
    ti = context.get("ti")
    task_id = getattr(ti, "task_id", "?")
    lines: list[str]
    if isinstance(exception, DrillFailed):
        failed_steps = getattr(exception, "failed_steps", None) or [task_id]
        lines = [
            f":red_circle: drdrill *{drill}* drill for target *{target}*: {exception.verdict.upper().replace('_', ' ')}",
            f"Failing task(s): {', '.join(failed_steps)}",
        ]
        for finding in exception.findings[:MAX_FINDINGS]:
            lines.append(f"• `{finding.code}` {finding.message} _Fix:_ {finding.fix}")
        if len(exception.findings) > MAX_FINDINGS:
            lines.append(f"… and {len(exception.findings) - MAX_FINDINGS} more findings")
        lines += [f"{key}: {value}" for key, value in getattr(exception, "measurements", {}).items()]
    else:
        lines = [
            f":red_circle: drdrill *{drill}* drill for target *{target}*: task *{task_id}* failed",
            f"Cause: {type(exception).__name__}: {exception}" if exception else "Cause: see the task log",
        ]
    link = run_url(context)
    if link:
        lines.append(f"Run: {link}")
    text = "\n".join(lines)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def success_text(context: Any, target: str, drill: str) -> str:
    """The optional success summary: the verdict with the backup, RTO and RPO against objectives, and the link."""
    ti = context.get("ti")
    record = (ti.xcom_pull(task_ids=ti.task_id) if ti is not None else None) or {}
    lines = [f":large_green_circle: drdrill *{drill}* drill for target *{target}* passed"
             + (f" (backup {record['backup_id']})" if record.get("backup_id") else "") + "."]
    for name in ("rto", "rpo"):
        value = record.get(f"{name}_seconds")
        if value is not None:
            lines.append(f"{name.upper()}: {value:.1f} s (objective {record.get(f'{name}_objective_seconds'):.0f} s)")
    if (record.get("details") or {}).get("evidence_uri"):
        lines.append(f"Evidence: {record['details']['evidence_uri']}")
    link = run_url(context)
    if link:
        lines.append(f"Run: {link}")
    return "\n".join(lines)


class DrillSlackNotifier(SlackWebhookNotifier):
    """SlackWebhookNotifier whose text is composed from the drill's outcome at send time."""

    def __init__(self, *, target: str, drill: str, success: bool = False, **kwargs: Any) -> None:
        super().__init__(text="", **kwargs)
        self.target = target
        self.drill = drill
        self.success = success

    def notify(self, context: Any) -> None:
        """Compose the text (with every password of the target's connections scrubbed) and post it."""
        if self.success:
            self.text = success_text(context, self.target, self.drill)
        else:
            self.text = alert_text(context, self.target, self.drill, _target_secrets(self.target))
        super().notify(context)


def _target_secrets(target_name: str) -> tuple[str, ...]:
    """Passwords of the target's connections, to scrub from a message as a last line of defence."""
    from drdrill.airflow.connections import get_connection
    from drdrill.config import load_config

    secrets = []
    try:
        target = load_config().target(target_name)
        for conn_id in target.connection_ids():
            try:
                password = get_connection(conn_id).password
            except Exception:
                continue
            if password:
                secrets.append(password)
    except Exception:
        pass
    return tuple(secrets)
