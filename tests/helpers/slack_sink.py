"""The sandbox's local Slack webhook (``drdrill.sandbox.slack_sink``) on a free loopback port, for one test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drdrill.sandbox.slack_sink import serve


@contextmanager
def running_slack_sink(record: Path) -> Iterator[str]:
    """The sink's base URL while the block runs; every post lands in ``record`` (``read_posts``)."""
    server = serve(0, record)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
