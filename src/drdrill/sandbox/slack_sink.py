"""A local stand-in for a Slack incoming webhook: records each posted JSON body as one line of a file."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(record_file: Path) -> type[BaseHTTPRequestHandler]:
    """A request handler that appends ``{"path": ..., "body": <json>, "received_at": <ISO-8601 UTC>}`` lines and
    answers like Slack ('ok')."""

    class SlackHookHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = raw.decode(errors="replace")
            with open(record_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"path": self.path, "body": body,
                                         "received_at": datetime.now(timezone.utc).isoformat()}) + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"drdrill slack sink")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    return SlackHookHandler


def serve(port: int, record_file: Path) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1:port (call ``serve_forever`` or run it in a thread)."""
    record_file.parent.mkdir(parents=True, exist_ok=True)
    return ThreadingHTTPServer(("127.0.0.1", port), make_handler(record_file))


def read_posts(record_file: Path) -> list[dict[str, object]]:
    """Every recorded post, oldest first."""
    if not record_file.exists():
        return []
    return [json.loads(line) for line in record_file.read_text().splitlines() if line.strip()]


def main() -> None:
    """``python -m drdrill.sandbox.slack_sink --port N --record FILE``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True)
    args = parser.parse_args()
    serve(args.port, args.record).serve_forever()


if __name__ == "__main__":
    main()
