"""``drdrill.sandbox.slack_sink``: the local Slack webhook records what is posted to it (a real server on loopback)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drdrill.sandbox.slack_sink import read_posts, serve
from tests.helpers.slack_sink import running_slack_sink

pytestmark = pytest.mark.unit


@dataclass
class Sink:
    url: str
    record: Path


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    record = tmp_path / "run" / "slack-posts.jsonl"
    with running_slack_sink(record) as url:
        yield Sink(url, record)


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def test_it_listens_on_loopback_only(tmp_path: Path) -> None:
    server = serve(0, tmp_path / "posts.jsonl")
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_a_posted_message_is_answered_like_slack_and_recorded_with_its_path(sink: Sink) -> None:
    message = {"text": ":red_circle: drdrill *restore* drill for target *shop*: FAILED", "blocks": [{"type": "section"}]}
    before = datetime.now(timezone.utc)
    assert post(f"{sink.url}/services/sandbox", json.dumps(message).encode()) == (200, b"ok")
    [recorded] = read_posts(sink.record)
    assert before <= datetime.fromisoformat(recorded.pop("received_at")) <= datetime.now(timezone.utc)
    assert recorded == {"path": "/services/sandbox", "body": message}


def test_posts_are_kept_oldest_first(sink: Sink) -> None:
    for number in range(3):
        post(f"{sink.url}/services/sandbox", json.dumps({"text": f"message {number}"}).encode())
    assert [item["body"] for item in read_posts(sink.record)] == [{"text": f"message {n}"} for n in range(3)]


def test_a_body_that_is_not_json_is_kept_as_text_and_an_empty_one_as_null(sink: Sink) -> None:
    post(f"{sink.url}/hook", "payload=caf\u00e9".encode(), "application/x-www-form-urlencoded")
    post(f"{sink.url}/hook", b"")
    assert [item["body"] for item in read_posts(sink.record)] == ["payload=caf\u00e9", None]


def test_get_says_what_it_is(sink: Sink) -> None:
    with urllib.request.urlopen(sink.url, timeout=5) as response:
        assert (response.status, response.read()) == (200, b"drdrill slack sink")
    assert read_posts(sink.record) == []


def test_nothing_recorded_yet_reads_as_no_posts(tmp_path: Path) -> None:
    assert read_posts(tmp_path / "missing.jsonl") == []


def test_the_slack_providers_webhook_notifier_posts_to_it(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    monkeypatch.setenv("AIRFLOW_CONN_UNIT_SLACK_SINK",
                       json.dumps({"conn_type": "slackwebhook", "password": f"{sink.url}/services/sandbox"}))
    SlackWebhookNotifier(slack_webhook_conn_id="unit_slack_sink", text="backup drill for shop: PASSED").notify({})
    assert [(item["path"], item["body"]) for item in read_posts(sink.record)] == [
        ("/services/sandbox", {"text": "backup drill for shop: PASSED"})]
